package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dustin/go-humanize"

	"github.com/livecb/livecb/internal/capture"
	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/listen"
	"github.com/livecb/livecb/internal/memo"
	"github.com/livecb/livecb/internal/redact"
	"github.com/livecb/livecb/internal/term"
)

// printFindings writes one line per finding, indented, severity coloured.
// Paths and messages may quote bytes from the network, so they are
// sanitised.
func printFindings(w io.Writer, p *term.Palette, fs event.Findings, indent string) {
	if len(fs) > 0 {
		w.Write(appendFindings(nil, paintsOf(p), fs, indent)) //nolint:errcheck // as fmt.Fprintf's were
	}
}

// appendFindings appends printFindings' lines to b. listen makes them for
// every request with findings (most, when the service's revisions drift),
// so nothing is formatted through fmt and each path is sanitised once.
func appendFindings(b []byte, pt *paints, fs event.Findings, indent string) []byte {
	var small [8]string
	paths := small[:0]
	width := 0
	for _, f := range fs {
		path := shownPaths.Get(f.Path)
		paths = append(paths, path)
		width = max(width, len(path))
	}
	for i, f := range fs {
		b = append(b, indent...)
		if f.Severity == event.Error {
			b = pt.bad.append(b, "error  ")
		} else {
			b = pt.warn.append(b, "warning")
		}
		b = append(b, ' ')
		b = append(b, paths[i]...)
		for n := len(paths[i]); n < width; n++ {
			b = append(b, ' ')
		}
		b = append(b, "  "...)
		b = append(b, shownMessages.Get(f.Message)...)
		b = append(b, ' ')
		b = pt.dim.append(b, "[", string(f.Code), "]")
		b = append(b, '\n')
	}
	return b
}

// paint is a colour of a palette as the text it puts before and after
// what it paints (nothing when colour is off), found once per palette:
// painting each word through the palette is an allocation and a format
// with colour on.
type paint struct{ open, close string }

func paintOf(f func(string) string) paint {
	open, close, _ := strings.Cut(f("\x00"), "\x00")
	return paint{open, close}
}

// append appends the concatenation of parts, painted.
func (pt paint) append(b []byte, parts ...string) []byte {
	b = append(b, pt.open...)
	for _, s := range parts {
		b = append(b, s...)
	}
	return append(b, pt.close...)
}

// paints are the colours of a palette that request lines use.
type paints struct{ ok, bad, warn, dim paint }

func paintsOf(p *term.Palette) *paints {
	return &paints{ok: paintOf(p.OK), bad: paintOf(p.Bad), warn: paintOf(p.Warn), dim: paintOf(p.Dim)}
}

// shownMessages and shownTargets are display's messages and request
// targets.
var (
	shownMessages = memo.New(display)
	shownTargets  = memo.New(func(t string) string { return term.Sanitize(redact.Target(t, redact.Display)) })
	// shownPaths are the paths of findings, as a terminal shows them.
	shownPaths = memo.New(func(p string) string { return term.Sanitize(displayPath(p)) })
	// clockSeconds are the clock of the request lines, once a second.
	clockSeconds = memo.NewSeconds(func(t time.Time) (string, string) { return t.Format("15:04:05"), "" })
)

// appendClock appends t's local clock time to the millisecond (what
// "15:04:05.000" formats: the milliseconds cut, not rounded).
func appendClock(b []byte, t time.Time) []byte {
	hms, _ := clockSeconds.Get(t.Local())
	ms := t.Nanosecond() / 1e6
	return append(append(b, hms...), '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
}

func displayPath(p string) string {
	if p == "" {
		return "(body)"
	}
	return p
}

// verdict is the short summary of a body's findings: OK, or the counts.
func verdict(p *term.Palette, fs event.Findings) string {
	errs, warns := fs.Count()
	return string(appendVerdict(nil, paintsOf(p), errs, warns))
}

// appendVerdict appends verdict's text for the counts to b.
func appendVerdict(b []byte, pt *paints, errs, warns int) []byte {
	switch {
	case errs == 0 && warns == 0:
		return pt.ok.append(b, "OK")
	case errs == 0:
		b = append(b, pt.warn.open...)
		b = appendPlural(append(b, "OK, "...), warns, "warning")
		return append(b, pt.warn.close...)
	}
	b = append(b, pt.bad.open...)
	b = appendPlural(append(b, "INVALID, "...), errs, "error")
	if warns > 0 {
		b = appendPlural(append(b, ", "...), warns, "warning")
	}
	return append(b, pt.bad.close...)
}

func plural(n int, word string) string { return string(appendPlural(nil, n, word)) }

// appendPlural appends "1 word" or "n words".
func appendPlural(b []byte, n int, word string) []byte {
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, ' ')
	b = append(b, word...)
	if n != 1 {
		b = append(b, 's')
	}
	return b
}

// requestPrinter renders listener requests: one line each with findings
// below (text), or one data record each (--output json). listen and demo
// share it. render may run concurrently (the listener renders each request
// on its own goroutine, outside the capture's critical section); print
// writes, one call at a time.
type requestPrinter struct {
	out     *Output
	p       *term.Palette
	pt      *paints // p's
	verbose bool
	buf     []byte // print's buffer
	// findings are the lines of the findings printed last.
	findings *memo.Last[event.Findings, string]
}

func newRequestPrinter(app *App, verbose bool) *requestPrinter {
	return makeRequestPrinter(app.Output, app.Color, verbose)
}

func makeRequestPrinter(out *Output, p *term.Palette, verbose bool) *requestPrinter {
	pr := &requestPrinter{out: out, p: p, pt: paintsOf(p), verbose: verbose}
	pr.findings = memo.NewLast(func(fs event.Findings) string {
		return string(appendFindings(nil, pr.pt, fs, requestIndent))
	}, slices.Equal[event.Findings], slices.Clone[event.Findings])
	return pr
}

// listenRecord is the data record of one request: the capture record plus
// the verdict.
type listenRecord struct {
	*capture.Record
	Callback bool `json:"callback"`
	Valid    bool `json:"valid"`
}

const kindWidth = len("task_record_done")

// requestIndent is what a request's findings are indented by.
const requestIndent = "    "

// print writes r: its data record, or what render makes of it.
func (pr *requestPrinter) print(r *listen.Request) error {
	if pr.out.Structured() {
		rec := listenRecord{Record: r.Record, Callback: r.Callback, Valid: r.Valid()}
		if rec.Findings == nil {
			rec.Findings = event.Findings{}
		}
		return pr.out.Write(rec)
	}
	pr.buf = pr.render(pr.buf[:0], r)
	_, err := pr.out.Writer().Write(pr.buf)
	return err
}

// render appends r's text form to dst.
func (pr *requestPrinter) render(dst []byte, r *listen.Request) []byte {
	rec := r.Record
	// Built by appending: this runs once per request.
	var tbuf [16]byte
	b := dst
	b = pr.pt.dim.append(b, string(appendClock(tbuf[:0], rec.Time)))
	b = append(b, "  "...)
	b = appendPadded(b, len("POST /snapshot"), term.Sanitize(rec.Method), " ", shownTargets.Get(rec.Target))
	kind := string(rec.Kind)
	if kind == "" {
		kind = "-"
	}
	b = append(b, "  "...)
	b = appendPadded(b, kindWidth, kind)
	if r.Event != nil && r.Event.Kind != "" {
		b = append(b, "  "...)
		id := r.Event.Identity()
		b = append(b, term.Sanitize(id.Domain)...)
		b = append(b, '/')
		b = append(b, term.Sanitize(id.App)...)
		b = append(b, '/')
		b = append(b, term.Sanitize(id.Stream)...)
		var kfs [event.MaxKeyFields]event.KeyField
		for _, kf := range r.Event.AppendKeyFields(kfs[:0]) {
			b = append(b, ' ')
			b = append(b, kf.Name...)
			b = append(b, '=')
			b = append(b, quoteIfSpaced(term.Sanitize(kf.Value))...)
		}
	} else if rec.Truncated || r.Event == nil {
		b = append(b, "  "...)
		b = append(b, humanize.IBytes(uint64(rec.Size))...)
	}
	b = append(b, "  "...)
	if r.Callback {
		errs, warns := rec.Findings.Count()
		b = appendVerdict(b, pr.pt, errs, warns)
	} else {
		b = pr.pt.bad.append(b, "NOT A CALLBACK")
	}
	b = append(b, "  "...)
	b = pr.appendAnswer(b, rec.Answer)
	b = append(b, '\n')
	if len(rec.Findings) > 0 {
		b = append(b, pr.findings.Get(rec.Findings)...)
	}
	if !pr.verbose {
		return b
	}
	w := bytes.NewBuffer(b)
	pr.details(w, rec)
	return w.Bytes()
}

// appendPadded appends the concatenation of parts, then spaces up to
// width runes (fmt's %-*s).
func appendPadded(b []byte, width int, parts ...string) []byte {
	n := 0
	for _, p := range parts {
		b = append(b, p...)
		n += utf8.RuneCountInString(p)
	}
	for ; n < width; n++ {
		b = append(b, ' ')
	}
	return b
}

func (pr *requestPrinter) appendAnswer(b []byte, a capture.Answer) []byte {
	pt := pr.pt.dim
	if a.Status >= 300 {
		pt = pr.pt.warn
	}
	b = append(b, pt.open...)
	b = strconv.AppendInt(append(b, "→ "...), int64(a.Status), 10)
	if a.Forwarded != nil {
		if a.Forwarded.Error != "" {
			b = append(b, " (forward failed)"...)
		} else {
			b = fmt.Appendf(b, " from %s in %.1fms", display(a.Forwarded.URL), a.Forwarded.LatencyMS)
		}
	}
	return append(b, pt.close...)
}

// details prints the headers and the body of a request (-v), escaped.
func (pr *requestPrinter) details(w io.Writer, rec *capture.Record) {
	names := make([]string, 0, len(rec.Header)+1)
	for k := range rec.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	if rec.Host != "" {
		fmt.Fprintf(w, "    %s %s\n", pr.p.Dim("Host:"), term.Sanitize(rec.Host))
	}
	for _, k := range names {
		for _, v := range rec.Header[k] {
			fmt.Fprintf(w, "    %s %s\n", pr.p.Dim(term.Sanitize(k)+":"), term.Sanitize(redact.HeaderValue(k, v, redact.Display)))
		}
	}
	body, _ := rec.Bytes()
	if len(body) == 0 {
		fmt.Fprintf(w, "    %s\n", pr.p.Dim("(empty body)"))
		return
	}
	body, _ = redact.Body(body, redact.Display)
	const show = 2 << 10 // enough to read a callback; the capture log has all of it
	cut := len(body) > show
	if cut {
		body = body[:show]
	}
	var pretty bytes.Buffer
	if !cut && json.Indent(&pretty, body, "", "  ") == nil {
		body = pretty.Bytes()
	}
	for _, line := range strings.Split(strings.TrimRight(string(body), "\n"), "\n") {
		fmt.Fprintf(w, "    %s\n", term.Sanitize(line))
	}
	if cut || rec.Truncated {
		fmt.Fprintf(w, "    %s\n", pr.p.Dim(fmt.Sprintf("(body cut, %s in all)", humanize.IBytes(uint64(rec.Size)))))
	}
	fmt.Fprintln(w)
}

// quoteIfSpaced quotes a value that would not read as one word.
func quoteIfSpaced(s string) string {
	if s == "" || strings.IndexByte(s, ' ') >= 0 || strings.IndexByte(s, '"') >= 0 {
		return strconv.Quote(s)
	}
	return s
}

// excerpt is the start of a body as one line of text: at most n bytes, cut
// on a character boundary, white space trimmed, sanitised, "..." when cut.
func excerpt(b []byte, n int) string {
	s := strings.TrimSpace(string(b))
	cut := len(s) > n
	if cut {
		s = s[:n]
		for len(s) > 0 && !utf8.RuneStart(s[len(s)-1]) {
			s = s[:len(s)-1]
		}
		if len(s) > 0 {
			if r, size := utf8.DecodeLastRuneInString(s); r == utf8.RuneError && size == 1 {
				s = s[:len(s)-1] // a character the cut split in two
			}
		}
	}
	s = display(s)
	if cut {
		s += "..."
	}
	return s
}

// display makes text that may hold bytes from the network or a secret (a
// URL's query, a message quoting one) safe and fit to print.
func display(s string) string { return redact.Show(s) }
