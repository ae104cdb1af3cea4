// Package term decides, once, how livecb writes to a terminal: whether
// colour is on (NO_COLOR, CLICOLOR, CLICOLOR_FORCE, --no-color, whether the
// stream is a terminal), and how bytes that came from the network are made
// safe to print.
package term

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/fatih/color"
	"github.com/livecb/livecb/internal/jsonx"
	"github.com/mattn/go-isatty"
)

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// NeverWaits reports whether x is a file whose reads and writes never wait
// for another process: a regular file, or a character device that is not a
// terminal (/dev/null). Not a pipe, a socket or a terminal, whose reader or
// writer may take its time.
func NeverWaits(x any) bool {
	f, ok := x.(*os.File)
	if !ok || f == nil {
		return false
	}
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	m := fi.Mode()
	return m.IsRegular() || m&os.ModeCharDevice != 0 && !IsTerminal(f)
}

// ColorEnabled applies the conventions of no-color.org and bixense.com/clicolors:
// NO_COLOR (any non-empty value) and --no-color turn colour off;
// CLICOLOR_FORCE (non-zero) turns it on even when piped; CLICOLOR=0 turns
// it off; otherwise colour is on only on a terminal.
func ColorEnabled(getenv func(string) string, isTTY, noColorFlag bool) bool {
	if noColorFlag || getenv("NO_COLOR") != "" {
		return false
	}
	if v := getenv("CLICOLOR_FORCE"); v != "" && v != "0" {
		return true
	}
	if getenv("CLICOLOR") == "0" {
		return false
	}
	return isTTY
}

// Palette colours text, or leaves it alone when colour is off.
type Palette struct {
	on                       bool
	ok, bad, warn, dim, bold *color.Color
}

// NewPalette returns a palette that colours only when enabled.
func NewPalette(enabled bool) *Palette {
	mk := func(attrs ...color.Attribute) *color.Color {
		c := color.New(attrs...)
		if enabled {
			c.EnableColor()
		} else {
			c.DisableColor()
		}
		return c
	}
	return &Palette{
		on:   enabled,
		ok:   mk(color.FgGreen),
		bad:  mk(color.FgRed, color.Bold),
		warn: mk(color.FgYellow),
		dim:  mk(color.Faint),
		bold: mk(color.Bold),
	}
}

// Without colour, text is returned as it is: color.Color's Sprint would
// still format it through fmt (listen paints several words per request).
func (p *Palette) OK(s string) string   { return p.paint(p.ok, s) }
func (p *Palette) Bad(s string) string  { return p.paint(p.bad, s) }
func (p *Palette) Warn(s string) string { return p.paint(p.warn, s) }
func (p *Palette) Dim(s string) string  { return p.paint(p.dim, s) }
func (p *Palette) Bold(s string) string { return p.paint(p.bold, s) }

func (p *Palette) paint(c *color.Color, s string) string {
	if !p.on {
		return s
	}
	return c.Sprint(s)
}

// Sanitize makes text that came from the network safe to print on a
// terminal: every unsafe rune (jsonx.Unsafe: control characters, ESC
// included, so no escape sequence is ever interpreted; bidirectional
// controls; line separators; invisible format characters) and every byte
// of invalid UTF-8 is shown escaped, Go-style (\x1b, \u202e, \xff).
// Printable text, CJK, accents and emoji included, is kept as it is. It is
// one line: a newline is shown as \n.
func Sanitize(s string) string {
	// Printable ASCII is safe as it is: most text is only that, and
	// listen sanitises several strings for every request it prints.
	i := jsonx.PrintableRun(s)
	if i == len(s) {
		return s
	}
	clean := true
	for _, r := range s[i:] {
		if r == utf8.RuneError || jsonx.Unsafe(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case jsonx.Unsafe(r):
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// SanitizeLines is Sanitize for text of several lines: each line is
// sanitised, and the newlines between them are kept.
func SanitizeLines(s string) string {
	if !strings.Contains(s, "\n") {
		return Sanitize(s)
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = Sanitize(l)
	}
	return strings.Join(lines, "\n")
}
