package inspect

import (
	"encoding/base64"
	"encoding/hex"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/livecb/livecb/internal/capture"
	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/redact"
	"github.com/livecb/livecb/internal/term"
)

// Detail is everything the detail page shows of one request. Strings meant
// to be read are already escaped (term.Sanitize); Body holds the exact bytes.
type Detail struct {
	Row
	Remote    string       `json:"remote,omitempty"`
	Target    string       `json:"target"`
	Host      string       `json:"host,omitempty"`
	Headers   []HeaderLine `json:"headers"`
	Truncated bool         `json:"truncated,omitempty"`
	Redacted  bool         `json:"redacted,omitempty"`
	Masked    bool         `json:"masked,omitempty"`
	Body      Body         `json:"body"`
	Findings  []Mark       `json:"findings"`
	Answer    Answer       `json:"answer"`
	// KeyFields are the key fields of the body's kind (event.KeyFields).
	KeyFields []KeyField `json:"keyFields,omitempty"`
	// Commands reproduce the request: curl and livecb send, the exact
	// bytes, shell-quoted.
	Curl string `json:"curl"`
	Send string `json:"send"`
	// ResendURL is where a resend goes by default ("" when there is no
	// forward target: the user types one).
	ResendURL string `json:"resendUrl"`
	// Fixture is a file name to save the body as.
	Fixture string `json:"fixture"`
	// Broken says why the line is no record; Raw is then the line.
	Broken string `json:"broken,omitempty"`
}

// KeyField is one of the key fields of the body's kind, escaped.
type KeyField struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// HeaderLine is one header value, escaped for display.
type HeaderLine struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	// Exact is false when the value held bytes that are not UTF-8 (shown
	// escaped; the resend sends the exact bytes).
	Exact bool `json:"exact"`
}

// Body is a body as the detail shows it.
type Body struct {
	// Text is the body when it is valid UTF-8; Base64 otherwise. Either
	// way they are the exact bytes (the download saves them).
	Text   *string `json:"text,omitempty"`
	Base64 string  `json:"base64,omitempty"`
	Size   int     `json:"size"`
	// Pretty is the body pretty-printed with the path of each line, when
	// it is JSON; Lines the body as it is, line by line, escaped.
	Pretty []BodyLine `json:"pretty,omitempty"`
	Lines  []string   `json:"lines,omitempty"`
	// Hex is a hex dump (hexdump -C) of a body that is not UTF-8, or of
	// its first maxHex bytes.
	Hex    string `json:"hex,omitempty"`
	HexCut bool   `json:"hexCut,omitempty"`
}

// Answer is what the listener answered.
type Answer struct {
	Status    int     `json:"status"`
	Body      string  `json:"body,omitempty"`
	Forwarded string  `json:"forwarded,omitempty"` // the URL
	LatencyMS float64 `json:"latencyMs,omitempty"`
	Error     string  `json:"error,omitempty"`
}

const (
	maxHex       = 64 << 10
	maxRawLines  = 100_000
	maxLineChars = 16 << 10
)

// detailOptions shape a Detail.
type detailOptions struct {
	forwardTo string
	// mask hides secret-looking values (reports: redact.Display).
	mask bool
}

// detail builds the Detail of entry e from its record.
func (in *Inspector) detail(e *entry, opts detailOptions) (*Detail, error) {
	rec, raw, err := in.record(e)
	if err != nil && raw == nil {
		return nil, err
	}
	d := &Detail{Row: in.ix.row(e, in.files), Headers: []HeaderLine{}, Findings: []Mark{}}
	if rec == nil {
		// A line that is no record: show it as bytes.
		d.Broken = "not a capture record"
		if err != nil {
			d.Broken = err.Error()
		}
		d.Body = bodyView(raw)
		d.Body.Lines = rawLines(raw)
		d.Findings = append(d.Findings, Mark{Finding: event.Finding{Severity: event.Error, Code: event.CodeTruncated, Message: d.Broken}, At: -1})
		return d, nil
	}
	body, err := rec.Bytes()
	if err != nil {
		return nil, err
	}
	header, err := rec.ExactHeader()
	if err != nil {
		header = rec.Header
	}
	target := rec.Target
	fs := rec.Findings
	ans := rec.Answer
	if opts.mask {
		header = redact.Header(header, redact.Display)
		target = redact.Target(target, redact.Display)
		if m, changed := redact.Body(body, redact.Display); changed {
			body, d.Masked = m, true
		}
		fs = append(event.Findings(nil), fs...)
		for i := range fs {
			fs[i].Message = redact.String(fs[i].Message, redact.Display)
		}
		ans.Body = redact.String(ans.Body, redact.Display)
		if ans.Forwarded != nil {
			f := *ans.Forwarded
			f.URL, f.Error = redact.String(f.URL, redact.Display), redact.String(f.Error, redact.Display)
			ans.Forwarded = &f
		}
		d.Masked = true
	}
	d.Remote, d.Target, d.Host = term.Sanitize(rec.Remote), term.Sanitize(target), term.Sanitize(rec.Host)
	d.Truncated, d.Redacted = rec.Truncated, rec.Redacted
	d.Headers = headerLines(header)
	d.Body = bodyView(body)
	var ev *event.Event
	if d.Body.Pretty == nil {
		d.Body.Lines = rawLines(body)
	} else {
		ev, _ = event.Decode(body)
	}
	if ev != nil {
		ev.Kind = rec.Kind
		for _, kf := range ev.KeyFields() {
			d.KeyFields = append(d.KeyFields, KeyField{Name: kf.Name, Value: term.Sanitize(kf.Value)})
		}
	}
	d.Findings = shownMarks(placeFindings(fs, d.Body.Pretty, len(d.Body.Lines), capture.RequestFinding))
	d.Answer = Answer{Status: ans.Status, Body: sanitizeLines(ans.Body)}
	if f := ans.Forwarded; f != nil {
		d.Answer.Forwarded, d.Answer.LatencyMS, d.Answer.Error = term.Sanitize(f.URL), f.LatencyMS, term.Sanitize(f.Error)
	}
	// What reproduces the request: to the forward target, or where it
	// was sent (its Host and target).
	d.ResendURL = resendURL(opts.forwardTo, target)
	cmdURL := d.ResendURL
	if cmdURL == "" {
		host := rec.Host
		if host == "" {
			host = "127.0.0.1:8080"
		}
		cmdURL = "http://" + host + target
	}
	d.Curl = CurlCommand(cmdURL, header, body)
	d.Send = SendCommand(cmdURL, body, rec.Findings.HasErrors())
	d.Fixture = fixtureName(rec)
	return d, nil
}

// headerLines are a header's values as shown, names in order.
func headerLines(h http.Header) []HeaderLine {
	out := []HeaderLine{}
	for _, k := range slices.Sorted(maps.Keys(h)) {
		for _, v := range h[k] {
			out = append(out, HeaderLine{Name: term.Sanitize(k), Value: term.Sanitize(v), Exact: utf8.ValidString(v)})
		}
	}
	return out
}

// shownMarks escapes what findings quote (a body's values) for display.
func shownMarks(ms []Mark) []Mark {
	for i := range ms {
		ms[i].Message = term.Sanitize(ms[i].Message)
		ms[i].Path = term.Sanitize(ms[i].Path)
	}
	return ms
}

// resendURL is where a resend of a request to target goes: the forward
// target, with the request's path and query when it has no path of its own
// (as the listener forwards).
func resendURL(forwardTo, target string) string {
	if forwardTo == "" {
		return ""
	}
	u, err := url.Parse(forwardTo)
	if err == nil && (u.Path == "" || u.Path == "/") && strings.HasPrefix(target, "/") {
		return strings.TrimSuffix(forwardTo, "/") + target
	}
	return forwardTo
}

func bodyView(b []byte) Body {
	v := Body{Size: len(b)}
	if utf8.Valid(b) {
		s := string(b)
		v.Text = &s
		v.Pretty, _ = prettyLines(b)
		return v
	}
	v.Base64 = base64.StdEncoding.EncodeToString(b)
	h := b
	if len(h) > maxHex {
		h, v.HexCut = h[:maxHex], true
	}
	v.Hex = hex.Dump(h)
	return v
}

// sanitizeLines is term.Sanitize line by line: text of several lines (an
// answer's body) keeps its newlines.
func sanitizeLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = term.Sanitize(strings.TrimSuffix(l, "\r"))
	}
	return strings.Join(lines, "\n")
}

// rawLines are the lines of a body as they are, escaped, for one that is
// not JSON (syntax errors point into them by line and column).
func rawLines(b []byte) []string {
	var out []string
	for len(b) > 0 && len(out) < maxRawLines {
		i := 0
		for i < len(b) && b[i] != '\n' {
			i++
		}
		line := b[:i]
		if len(line) > maxLineChars {
			line = line[:maxLineChars]
		}
		out = append(out, term.Sanitize(strings.TrimSuffix(string(line), "\r")))
		if i == len(b) {
			break
		}
		b = b[i+1:]
	}
	return out
}

// fixtureName names the file a body is saved as: its kind and the request's
// number ("record_done-12.json").
func fixtureName(rec *capture.Record) string {
	k := string(rec.Kind)
	if k == "" {
		k = "body"
	}
	return k + "-" + strconv.FormatUint(rec.Seq, 10) + ".json"
}

// hopByHop headers concern one connection, not the message (RFC 9110
// §7.6.1): a resend or a copied command does not repeat them, nor the ones
// its client sets itself.
var hopByHop = map[string]bool{"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Te": true,
	"Trailer": true, "Transfer-Encoding": true, "Upgrade": true, "Content-Length": true, "Host": true,
	"Proxy-Authenticate": true, "Proxy-Authorization": true}

// endToEnd returns the headers a resend repeats.
func endToEnd(h http.Header) http.Header {
	out := http.Header{}
	drop := map[string]bool{}
	for _, v := range h.Values("Connection") {
		for _, f := range strings.Split(v, ",") {
			drop[http.CanonicalHeaderKey(strings.TrimSpace(f))] = true
		}
	}
	for k, vs := range h {
		if hopByHop[http.CanonicalHeaderKey(k)] || drop[http.CanonicalHeaderKey(k)] {
			continue
		}
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// Detail returns the detail of request id (the report and the server use
// it; forwardTo is the default resend target).
func (in *Inspector) Detail(id int64, forwardTo string) (*Detail, error) {
	e := in.ix.get(id)
	if e == nil || e.id >= in.ix.Len() {
		return nil, &NotHeldError{ID: id}
	}
	return in.detail(e, detailOptions{forwardTo: forwardTo})
}
