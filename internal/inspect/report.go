package inspect

import (
	"bytes"
	"errors"
	"fmt"
	"html"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/jsonx"
	"github.com/livecb/livecb/internal/redact"
	"github.com/livecb/livecb/internal/term"
)

// Reports are one HTML file that opens from file:// with no network: the
// same application as the served pages, inline, with its data embedded as
// JSON in a <script type="application/json"> element (read with
// textContent and JSON.parse, never run), under a Content-Security-Policy
// that allows that one script and that one style sheet by their hashes and
// nothing else.

// reportShell is a report's page; %s are, in order: the policy, the
// title, the style sheet, the data and the script.
const reportShell = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="%s">
<title>%s</title>
<style>%s</style>
</head>
<body>
<header><span class="brand">livecb inspector</span><nav id="nav"></nav><span id="title"></span><span id="status" class="status"></span></header>
<main id="main"><noscript>This report needs JavaScript (it runs only the script inside this file).</noscript></main>
<script type="application/json" id="livecb-data">%s</script>
<script>%s</script>
</body>
</html>
`

// reportPolicy allows the report's own inline script and style and nothing
// else: no network, no other script, no frames, no forms.
func reportPolicy() string {
	return "default-src 'none'; script-src " + cspHash(appJS) + "; style-src " + cspHash(appCSS) +
		"; img-src data:; base-uri 'none'; form-action 'none'"
}

// writeReport writes the page with data embedded.
func writeReport(w io.Writer, title string, data any) error {
	if strings.Contains(strings.ToLower(appJS), "</script") || strings.Contains(strings.ToLower(appCSS), "</style") {
		return errors.New("inspect: the embedded assets cannot be inlined") // (assets_test.go forbids it)
	}
	b, err := jsonx.Marshal(data)
	if err != nil {
		return err
	}
	// Inside a script element only "</script" (and "<!--") matter: with
	// every < escaped (a JSON string is the only place one can be), the
	// data cannot end the element. JSON.parse reads \u003c back as <.
	b = bytes.ReplaceAll(b, []byte("<"), []byte(`\u003c`))
	_, err = fmt.Fprintf(w, reportShell, reportPolicy(), html.EscapeString(title), appCSS, b, appJS)
	return err
}

// ExportOptions shape a report of requests.
type ExportOptions struct {
	// Title is shown at the top (default: the files' names).
	Title string
	// KeepSecrets keeps secret-looking values (Authorization, auth_key,
	// txSecret...) instead of masking them: a report is a file people
	// share.
	KeepSecrets bool
	// ForwardTo is the URL the copied commands send to.
	ForwardTo string
	// DetailBytes bounds the details embedded (default
	// DefaultDetailBytes): past it the newest requests keep theirs.
	DetailBytes int
}

// Bounds of a report of requests.
const (
	DefaultDetailBytes = 64 << 20
	maxReportRows      = 200_000
	maxReportStreams   = 1000
)

type reportData struct {
	Info      Info                `json:"info"`
	Rows      []Row               `json:"rows"`
	Details   map[string]*Detail  `json:"details"`
	Omitted   string              `json:"omitted,omitempty"`
	Streams   []StreamInfo        `json:"streams"`
	Timelines map[string]Timeline `json:"timelines"`
}

// Export writes a single-file HTML report of the inspector's requests: the
// list, each request's detail, the streams and their timelines.
func (in *Inspector) Export(w io.Writer, opts ExportOptions) error {
	if opts.DetailBytes <= 0 {
		opts.DetailBytes = DefaultDetailBytes
	}
	title := opts.Title
	if title == "" {
		var names []string
		for _, f := range in.files {
			if f != "" {
				names = append(names, f)
			}
		}
		title = strings.Join(names, ", ")
	}
	title = term.Sanitize(title)
	data := reportData{
		Info: Info{Mode: "report", Title: title, Total: in.Len(), Files: nil, Masked: !opts.KeepSecrets,
			Verdicts: verdictNames[1:]},
		Details:   map[string]*Detail{},
		Timelines: map[string]Timeline{},
	}
	data.Info.Kinds = event.KindNames()
	for _, f := range in.files {
		if f != "" {
			data.Info.Files = append(data.Info.Files, term.Sanitize(f))
		}
	}
	var rows []Row
	budget := opts.DetailBytes
	omitted := 0
	in.ix.each(func(e *entry) bool {
		if len(rows) == maxReportRows {
			return false
		}
		r := in.ix.row(e, in.files)
		r.Text = strings.Join(in.ix.haystack(e), "\n")
		rows = append(rows, r)
		if budget <= 0 {
			omitted++
			return true
		}
		d, err := in.detail(e, detailOptions{forwardTo: opts.ForwardTo, mask: !opts.KeepSecrets})
		if err != nil {
			omitted++
			return true
		}
		if b, err := jsonx.Marshal(d); err == nil {
			budget -= len(b)
		}
		data.Details[strconv.FormatInt(e.id, 10)] = d
		return true
	})
	// each went newest first; the list is kept oldest first.
	for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
		rows[i], rows[j] = rows[j], rows[i]
	}
	data.Rows = rows
	if omitted > 0 {
		data.Omitted = fmt.Sprintf("the report keeps the details of the newest requests only, %d MiB of them; %d left out", opts.DetailBytes>>20, omitted)
	}
	data.Streams = in.ix.Streams(maxReportStreams)
	for _, s := range data.Streams {
		if tl, ok := in.Timeline(s.Key); ok {
			data.Timelines[s.Key.String()] = tl
		}
	}
	return writeReport(w, title, data)
}

// TestReport is a contract suite's run, as `livecb test --html` reports it.
// The CLI fills it from internal/contract's results.
type TestReport struct {
	Title    string
	Target   string
	Seed     uint64
	Started  time.Time
	Duration time.Duration
	Cases    []TestCase
}

// TestCase is one case's result.
type TestCase struct {
	Name string
	// Family is the rule family (the name's prefix before "/": sample,
	// drift, duplicate...); "" takes it from the name.
	Family    string
	Rule      string
	Negative  bool
	Outcome   string // "pass", "fail" or "skip"
	Reason    string
	Duration  time.Duration
	Exchanges []TestExchange
}

// TestExchange is one request of a case and its answer.
type TestExchange struct {
	Kind     string
	URL      string
	Status   int
	Error    string
	Cause    string
	Request  []byte
	Answer   []byte // the start of the answer's body
	Duration time.Duration
	// Failed marks the request that failed the case.
	Failed bool
}

type testsData struct {
	Info  Info      `json:"info"`
	Tests testsView `json:"tests"`
}

type testsView struct {
	Title      string       `json:"title"`
	Target     string       `json:"target"`
	Seed       uint64       `json:"seed,omitempty"`
	Started    *time.Time   `json:"started,omitempty"`
	DurationMS float64      `json:"durationMs"`
	Counts     testCounts   `json:"counts"`
	Families   []familyView `json:"families"`
}

type testCounts struct {
	Total int `json:"total"`
	Pass  int `json:"pass"`
	Fail  int `json:"fail"`
	Skip  int `json:"skip"`
}

type familyView struct {
	Name  string     `json:"name"`
	Cases []caseView `json:"cases"`
}

type caseView struct {
	Name       string         `json:"name"`
	Rule       string         `json:"rule"`
	Negative   bool           `json:"negative,omitempty"`
	Outcome    string         `json:"outcome"`
	Reason     string         `json:"reason,omitempty"`
	DurationMS float64        `json:"durationMs"`
	Exchanges  []exchangeView `json:"exchanges"`
}

type exchangeView struct {
	Kind        string  `json:"kind,omitempty"`
	URL         string  `json:"url"`
	Status      int     `json:"status,omitempty"`
	Error       string  `json:"error,omitempty"`
	Cause       string  `json:"cause,omitempty"`
	Request     *string `json:"request,omitempty"` // pretty-printed, exact tokens
	RequestSize int     `json:"requestSize"`
	Answer      string  `json:"answer,omitempty"`
	DurationMS  float64 `json:"durationMs"`
	Failed      bool    `json:"failed,omitempty"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// show makes a string from the network or from a user safe to show and
// free of secrets.
func show(s string) string { return sanitizeLines(redact.String(s, redact.Display)) }

// WriteTestReport writes a single-file HTML report of a contract suite's
// run: every case with its rule, requests, answers and reason, grouped by
// rule family, failures first open.
func WriteTestReport(w io.Writer, r TestReport) error {
	title := r.Title
	if title == "" {
		title = "livecb test"
	}
	v := testsView{Title: term.Sanitize(title), Target: show(r.Target), Seed: r.Seed, DurationMS: ms(r.Duration)}
	if !r.Started.IsZero() {
		t := r.Started
		v.Started = &t
	}
	byName := map[string]int{}
	for _, c := range r.Cases {
		fam := c.Family
		if fam == "" {
			fam = "other"
		}
		i, ok := byName[fam]
		if !ok {
			i = len(v.Families)
			byName[fam] = i
			v.Families = append(v.Families, familyView{Name: term.Sanitize(fam)})
		}
		cv := caseView{Name: term.Sanitize(c.Name), Rule: term.Sanitize(c.Rule), Negative: c.Negative,
			Outcome: c.Outcome, Reason: show(c.Reason), DurationMS: ms(c.Duration), Exchanges: []exchangeView{}}
		for _, x := range c.Exchanges {
			ev := exchangeView{Kind: x.Kind, URL: show(x.URL), Status: x.Status, Error: show(x.Error), Cause: x.Cause,
				RequestSize: len(x.Request), Answer: show(string(x.Answer)), DurationMS: ms(x.Duration), Failed: x.Failed}
			if utf8.Valid(x.Request) {
				text := string(x.Request)
				if lines, ok := prettyLines(x.Request); ok {
					parts := make([]string, len(lines))
					for i, l := range lines {
						parts[i] = l.Text
					}
					text = strings.Join(parts, "\n")
				} else {
					text = strings.Join(rawLines(x.Request), "\n")
				}
				ev.Request = &text
			}
			cv.Exchanges = append(cv.Exchanges, ev)
		}
		v.Families[i].Cases = append(v.Families[i].Cases, cv)
		v.Counts.Total++
		switch c.Outcome {
		case "pass":
			v.Counts.Pass++
		case "fail":
			v.Counts.Fail++
		default:
			v.Counts.Skip++
		}
	}
	if v.Families == nil {
		v.Families = []familyView{}
	}
	data := testsData{Info: Info{Mode: "report-tests", Title: v.Title, Verdicts: verdictNames[1:]}, Tests: v}
	return writeReport(w, title, data)
}
