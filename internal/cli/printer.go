package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/dustin/go-humanize"

	"github.com/livecb/livecb/internal/capture"
	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/listen"
	"github.com/livecb/livecb/internal/redact"
	"github.com/livecb/livecb/internal/term"
)

// printFindings writes one line per finding, indented, severity coloured.
// Paths and messages may quote bytes from the network, so they are
// sanitised.
func printFindings(w io.Writer, p *term.Palette, fs event.Findings, indent string) {
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
		fmt.Fprintf(w, "%s%s %s%s  %s %s\n", indent, sev, path, strings.Repeat(" ", width-len(path)),
			display(f.Message), p.Dim("["+string(f.Code)+"]"))
	}
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
	switch {
	case errs == 0 && warns == 0:
		return p.OK("OK")
	case errs == 0:
		return p.Warn(fmt.Sprintf("OK, %s", plural(warns, "warning")))
	case warns == 0:
		return p.Bad(fmt.Sprintf("INVALID, %s", plural(errs, "error")))
	}
	return p.Bad(fmt.Sprintf("INVALID, %s, %s", plural(errs, "error"), plural(warns, "warning")))
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// requestPrinter renders listener requests: one line each with findings
// below (text), or one data record each (--output json). listen and demo
// share it. render may run concurrently (the listener renders each request
// on its own goroutine, outside the capture's critical section); print
// writes, one call at a time.
type requestPrinter struct {
	out     *Output
	p       *term.Palette
	verbose bool
	buf     []byte // print's buffer
}

func newRequestPrinter(app *App, verbose bool) *requestPrinter {
	return &requestPrinter{out: app.Output, p: app.Color, verbose: verbose}
}

// listenRecord is the data record of one request: the capture record plus
// the verdict.
type listenRecord struct {
	*capture.Record
	Callback bool `json:"callback"`
	Valid    bool `json:"valid"`
}

const kindWidth = len("task_record_done")

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
	var tbuf [32]byte
	b := dst
	b = append(b, pr.p.Dim(string(rec.Time.Local().AppendFormat(tbuf[:0], "15:04:05.000")))...)
	b = append(b, "  "...)
	b = appendPadded(b, len("POST /snapshot"), term.Sanitize(rec.Method), " ", term.Sanitize(redact.Target(rec.Target, redact.Display)))
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
		for _, kf := range r.Event.KeyFields() {
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
		b = append(b, verdict(pr.p, rec.Findings)...)
	} else {
		b = append(b, pr.p.Bad("NOT A CALLBACK")...)
	}
	b = append(b, "  "...)
	b = append(b, pr.answer(rec.Answer)...)
	b = append(b, '\n')
	if len(rec.Findings) == 0 && !pr.verbose {
		return b
	}
	w := bytes.NewBuffer(b)
	printFindings(w, pr.p, rec.Findings, "    ")
	if pr.verbose {
		pr.details(w, rec)
	}
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

func (pr *requestPrinter) answer(a capture.Answer) string {
	s := "→ " + strconv.Itoa(a.Status)
	if a.Forwarded != nil {
		if a.Forwarded.Error != "" {
			s += " (forward failed)"
		} else {
			s += fmt.Sprintf(" from %s in %.1fms", display(a.Forwarded.URL), a.Forwarded.LatencyMS)
		}
	}
	if a.Status >= 300 {
		return pr.p.Warn(s)
	}
	return pr.p.Dim(s)
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
