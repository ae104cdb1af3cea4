package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/livecb/livecb/internal/event"
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
			term.Sanitize(f.Message), p.Dim("["+string(f.Code)+"]"))
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
