package inspect

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Commands that reproduce a request, for a POSIX shell (sh, bash, zsh):
// every byte of the body and of the headers reaches the receiver as it
// arrived. Text that is safe to paste goes in single quotes; anything else
// (bytes that are not UTF-8, control characters, bidirectional controls
// that would make the command read differently from what it does) is
// written with printf's octal escapes, which every POSIX printf reads.

// CurlCommand is a curl command line that POSTs body to url with header.
func CurlCommand(url string, header http.Header, body []byte) string {
	h := endToEnd(header)
	var b strings.Builder
	pipe := !pasteSafe(string(body))
	if pipe {
		b.WriteString("printf ")
		b.WriteString(printfFormat(body))
		b.WriteString(" | ")
	}
	// --path-as-is keeps /../ in the target; -g keeps [] and {} literal.
	b.WriteString("curl -sS -g --path-as-is ")
	b.WriteString(shellQuote(url))
	for _, k := range slices.Sorted(maps.Keys(h)) {
		for _, v := range h[k] {
			b.WriteString(" \\\n  -H ")
			b.WriteString(headerWord(k, v))
		}
	}
	// curl adds these unless told not to: the request had none.
	for _, k := range []string{"Content-Type", "Accept", "User-Agent"} {
		if _, ok := h[k]; !ok && !hasFold(h, k) {
			b.WriteString(" \\\n  -H ")
			b.WriteString(shellQuote(k + ":"))
		}
	}
	b.WriteString(" \\\n  --data-binary ")
	if pipe {
		b.WriteString("@-")
	} else {
		b.WriteString(shellQuote(string(body)))
	}
	return b.String()
}

func hasFold(h http.Header, name string) bool {
	for k := range h {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// headerWord is a curl -H argument: "Name: value", or "Name;" for an empty
// value (curl drops a header given as "Name:").
func headerWord(name, value string) string {
	s := name + ": " + value
	if value == "" {
		s = name + ";"
	}
	if pasteSafe(s) {
		return shellQuote(s)
	}
	return `"$(printf ` + printfFormat([]byte(s)) + `)"`
}

// SendCommand is a `livecb send --data -` command line that sends body to
// url; noValidate adds --no-validate, which a body with errors needs.
func SendCommand(url string, body []byte, noValidate bool) string {
	var b strings.Builder
	if pasteSafe(string(body)) {
		b.WriteString("printf '%s' ")
		b.WriteString(shellQuote(string(body)))
	} else {
		b.WriteString("printf ")
		b.WriteString(printfFormat(body))
	}
	b.WriteString(" | livecb send --data - --to ")
	b.WriteString(shellQuote(url))
	if noValidate {
		b.WriteString(" --no-validate")
	}
	return b.String()
}

// shellQuote puts s in single quotes, each ' written as '\”.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// pasteSafe reports whether s can be pasted inside single quotes and read
// as it is: UTF-8, no NUL, no control characters but newline and tab, no
// bidirectional controls.
func pasteSafe(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		switch {
		case r == '\n' || r == '\t':
		case unicode.IsControl(r), unicode.Is(unicode.Bidi_Control, r), r == '\u2028', r == '\u2029':
			return false
		}
	}
	return true
}

// printfFormat is a single-quoted printf format that prints b exactly:
// printable ASCII as it is (% and \ doubled), every other byte in octal,
// and a leading "-" too (printf would read it as an option).
func printfFormat(b []byte) string {
	var s strings.Builder
	s.WriteByte('\'')
	for i, c := range b {
		switch {
		case i == 0 && c == '-':
			s.WriteString(`\055`)
		case c == '\'':
			s.WriteString(`'\''`)
		case c == '%':
			s.WriteString("%%")
		case c == '\\':
			s.WriteString(`\\`)
		case c >= 0x20 && c < 0x7f:
			s.WriteByte(c)
		default:
			s.WriteByte('\\')
			s.WriteByte('0' + c>>6)
			s.WriteByte('0' + (c>>3)&7)
			s.WriteByte('0' + c&7)
		}
	}
	s.WriteByte('\'')
	return s.String()
}
