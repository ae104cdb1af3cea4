package cli

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/livecb/livecb/internal/capture"
	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/listen"
	"github.com/livecb/livecb/internal/redact"
	"github.com/livecb/livecb/internal/term"
)

// The request line is built by appending, with colours found once and
// display memoised (printer.go). These are the fmt-based forms it
// replaced, kept as the reference it must match byte for byte.

func fmtFindings(p *term.Palette, fs event.Findings, indent string) string {
	var w strings.Builder
	width := 0
	for _, f := range fs {
		width = max(width, len(term.Sanitize(displayPath(f.Path))))
	}
	for _, f := range fs {
		sev := p.Warn("warning")
		if f.Severity == event.Error {
			sev = p.Bad("error  ")
		}
		path := term.Sanitize(displayPath(f.Path))
		fmt.Fprintf(&w, "%s%s %s%s  %s %s\n", indent, sev, path, strings.Repeat(" ", width-len(path)),
			redact.Show(f.Message), p.Dim("["+string(f.Code)+"]"))
	}
	return w.String()
}

func fmtPlural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func fmtVerdict(p *term.Palette, fs event.Findings) string {
	errs, warns := fs.Count()
	switch {
	case errs == 0 && warns == 0:
		return p.OK("OK")
	case errs == 0:
		return p.Warn(fmt.Sprintf("OK, %s", fmtPlural(warns, "warning")))
	case warns == 0:
		return p.Bad(fmt.Sprintf("INVALID, %s", fmtPlural(errs, "error")))
	}
	return p.Bad(fmt.Sprintf("INVALID, %s, %s", fmtPlural(errs, "error"), fmtPlural(warns, "warning")))
}

func fmtAnswer(p *term.Palette, a capture.Answer) string {
	s := "→ " + strconv.Itoa(a.Status)
	if a.Forwarded != nil {
		if a.Forwarded.Error != "" {
			s += " (forward failed)"
		} else {
			s += fmt.Sprintf(" from %s in %.1fms", redact.Show(a.Forwarded.URL), a.Forwarded.LatencyMS)
		}
	}
	if a.Status >= 300 {
		return p.Warn(s)
	}
	return p.Dim(s)
}

func fmtRender(p *term.Palette, r *listen.Request) string {
	rec := r.Record
	var b strings.Builder
	b.WriteString(p.Dim(rec.Time.Local().Format("15:04:05.000")))
	fmt.Fprintf(&b, "  %-*s", len("POST /snapshot"), term.Sanitize(rec.Method)+" "+term.Sanitize(redact.Target(rec.Target, redact.Display)))
	kind := string(rec.Kind)
	if kind == "" {
		kind = "-"
	}
	fmt.Fprintf(&b, "  %-*s", kindWidth, kind)
	if r.Event != nil && r.Event.Kind != "" {
		id := r.Event.Identity()
		fmt.Fprintf(&b, "  %s/%s/%s", term.Sanitize(id.Domain), term.Sanitize(id.App), term.Sanitize(id.Stream))
		for _, kf := range r.Event.KeyFields() {
			fmt.Fprintf(&b, " %s=%s", kf.Name, quoteIfSpaced(term.Sanitize(kf.Value)))
		}
	} else if rec.Truncated || r.Event == nil {
		b.WriteString("  " + humanize.IBytes(uint64(rec.Size)))
	}
	if r.Callback {
		b.WriteString("  " + fmtVerdict(p, rec.Findings))
	} else {
		b.WriteString("  " + p.Bad("NOT A CALLBACK"))
	}
	b.WriteString("  " + fmtAnswer(p, rec.Answer) + "\n")
	b.WriteString(fmtFindings(p, rec.Findings, "    "))
	return b.String()
}

// TestRenderMatchesFmt: listen's line and its findings, in colour and
// without, whatever the findings (none, drift, errors and warnings,
// hostile paths and messages, a secret in a message, more than fit the
// paths' room on the stack), the answer (forwarded, failed) and the
// target; and again, from the memo, the second time.
func TestRenderMatchesFmt(t *testing.T) {
	body := []byte(`{"version":"v1.1","publishDomain":"push.example.com","appName":"live","streamName":"cam 1","format":"flv","duration":598000.0,"fileSize":186875000,"beginTime":1796164835575,"endTime":1796165433575,"event":"record_done","downloadUrl":"http://s3.example.com/r.flv","status":"success"}`)
	ev, drift := event.Check(body, event.Options{})
	if len(drift) != 2 {
		t.Fatalf("the drifting body has %d findings, want 2: %v", len(drift), drift)
	}
	hostile := "a\x1b[2J\u202e\xff é 直播 \t"
	many := event.Findings{}
	for i := 0; i < 11; i++ {
		many = append(many, event.Finding{Path: "/f" + strings.Repeat("x", i), Severity: event.Warning, Code: "unknown_field", Message: fmt.Sprintf("unknown field %d", i)})
	}
	findings := []event.Findings{
		nil,
		drift,
		{{Path: "/a", Severity: event.Error, Code: "wrong_type", Message: "is a JSON number"}},
		{{Path: "", Severity: event.Error, Code: "not_json", Message: "m", Line: 1, Column: 2},
			{Path: "/" + hostile, Severity: event.Warning, Code: "padded_value", Message: hostile},
			{Path: "/b", Severity: event.Warning, Code: "x", Message: "forwarding to http://h/cb?token=s3cret&a=1 failed"}},
		many,
	}
	answers := []capture.Answer{
		{Status: 200},
		{Status: 502, Forwarded: &capture.Forward{URL: "http://h/?auth_key=x", Error: "refused"}},
		{Status: 201, Forwarded: &capture.Forward{URL: "http://h/cb\x1b", Status: 201, LatencyMS: 1.25}},
	}
	at := time.Date(2026, 12, 1, 10, 0, 0, 123e6, time.UTC)
	for _, on := range []bool{false, true} {
		p := term.NewPalette(on)
		pr := makeRequestPrinter(nil, p, false)
		for i, fs := range findings {
			for j, a := range answers {
				for _, target := range []string{"/cb", "/cb?sign=abc&x=" + hostile, hostile} {
					for _, r := range []*listen.Request{
						{Record: &capture.Record{Time: at, Method: "POST", Target: target, Header: http.Header{}, Kind: ev.Kind, Findings: fs, Answer: a}, Event: ev, Callback: true},
						{Record: &capture.Record{Time: at, Method: "GET", Target: target, Size: 1 << 20, Findings: fs, Answer: a}},
					} {
						want := fmtRender(p, r)
						for round := 0; round < 2; round++ {
							if got := string(pr.render([]byte("x"), r)); got != "x"+want {
								t.Fatalf("colour %v, findings %d, answer %d, target %q, round %d:\n got %q\nwant %q", on, i, j, target, round, got, "x"+want)
							}
						}
					}
				}
			}
			var w bytes.Buffer
			printFindings(&w, p, fs, "  ")
			if want := fmtFindings(p, fs, "  "); w.String() != want {
				t.Errorf("printFindings, colour %v, findings %d:\n got %q\nwant %q", on, i, w.String(), want)
			}
			if got, want := verdict(p, fs), fmtVerdict(p, fs); got != want {
				t.Errorf("verdict %q, want %q", got, want)
			}
		}
	}
	for _, n := range []int{0, 1, 2, 11} {
		if got, want := plural(n, "error"), fmtPlural(n, "error"); got != want {
			t.Errorf("plural(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestClockMatchesFormat: a request line's clock is what
// Local().Format("15:04:05.000") writes, for times given in any location,
// fractions that round up (cut, not rounded), and seconds in turn new and
// remembered.
func TestClockMatchesFormat(t *testing.T) {
	base := time.Date(2026, 12, 7, 23, 59, 58, 0, time.UTC)
	zones := []*time.Location{time.UTC, time.Local, time.FixedZone("", -(9*3600 + 30*60))}
	for i := 0; i < 3000; i++ {
		at := base.Add(time.Duration(i) * 1777777 * time.Microsecond / 3).In(zones[i%len(zones)])
		for _, ns := range []int{0, 999999999, 999500000, 1000000, 123456789} {
			tm := at.Truncate(time.Second).Add(time.Duration(ns))
			if got, want := string(appendClock(nil, tm)), tm.Local().Format("15:04:05.000"); got != want {
				t.Fatalf("appendClock(%v) = %q, want %q", tm, got, want)
			}
		}
	}
}
