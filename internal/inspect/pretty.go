package inspect

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/jsonx"
	"github.com/livecb/livecb/internal/term"
)

// BodyLine is one line of a body as the detail shows it. Path is the JSON
// Pointer of the value the line holds (a member, an element, or the
// opening of an object or array); Text is shown as text, its invisible and
// control characters escaped.
type BodyLine struct {
	Path string `json:"path"`
	Text string `json:"text"`
}

// Limits of the pretty-printed view: a body beyond them is shown raw.
const (
	maxPrettyBytes = 4 << 20
	maxPrettyLines = 100_000
)

// prettyLines pretty-prints a JSON body with two spaces of indent, keeping
// every scalar token exactly as written (digits of big numbers, escapes in
// strings), and says for each line the path of its value. False when the
// body is not one JSON value (or is too large to show this way).
func prettyLines(body []byte) ([]BodyLine, bool) {
	if len(body) > maxPrettyBytes || !json.Valid(body) {
		return nil, false
	}
	type frame struct {
		array bool
		path  string
		n     int    // members or elements so far
		key   string // the member whose value comes next (objects)
		raw   []byte // that member's key as written
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var lines []BodyLine
	var stack []frame
	var last int64 // where the previous token ended
	// rawToken is the token that ended at end, as written.
	rawToken := func(end int64) []byte {
		start := last
		for start < end && (jsonx.IsSpace(body[start]) || body[start] == ',' || body[start] == ':') {
			start++
		}
		return body[start:end]
	}
	emit := func(path string, text []byte, depth int, key []byte) {
		if len(stack) > 0 && stack[len(stack)-1].n > 1 && len(lines) > 0 {
			lines[len(lines)-1].Text += ","
		}
		var b strings.Builder
		b.WriteString(strings.Repeat("  ", depth))
		if key != nil {
			b.WriteString(term.Sanitize(string(key)))
			b.WriteString(": ")
		}
		b.WriteString(term.Sanitize(string(text)))
		lines = append(lines, BodyLine{Path: path, Text: b.String()})
	}
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil || len(lines) > maxPrettyLines {
			return nil, false
		}
		end := dec.InputOffset()
		raw := rawToken(end)
		last = end
		// A key of the object being read: held until its value comes.
		if n := len(stack); n > 0 && !stack[n-1].array && stack[n-1].key == "" {
			if s, ok := tok.(string); ok {
				stack[n-1].key, stack[n-1].raw = s, raw
				if stack[n-1].key == "" {
					stack[n-1].key = "\x00" // the empty key, told from none
				}
				continue
			}
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			f := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if f.n == 0 {
				lines[len(lines)-1].Text += string(d)
			} else {
				lines = append(lines, BodyLine{Path: f.path, Text: strings.Repeat("  ", len(stack)) + string(d)})
			}
			continue
		}
		// A value: a member's, an element's or the whole body's.
		path, depth := "", len(stack)
		var key []byte
		if depth > 0 {
			f := &stack[depth-1]
			f.n++
			if f.array {
				path = f.path + "/" + strconv.Itoa(f.n-1)
			} else {
				name := f.key
				if name == "\x00" {
					name = ""
				}
				path = f.path + "/" + pointerToken(name)
				key = f.raw
				f.key = ""
			}
		}
		if d, ok := tok.(json.Delim); ok {
			emit(path, []byte{byte(d)}, depth, key)
			stack = append(stack, frame{array: d == '[', path: path})
			continue
		}
		emit(path, raw, depth, key)
	}
	return lines, true
}

func pointerToken(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// Mark is a finding placed on a line of the body.
type Mark struct {
	event.Finding
	// At is the index of the line the finding is shown on (in Pretty when
	// the body has it, else in the raw lines); -1 when it is about the
	// request, not a place in the body.
	At int `json:"at"`
	// Exact is false when the finding's path is not in the body (a field
	// that is missing): it is shown on the nearest enclosing value.
	Exact bool `json:"exact"`
}

// placeFindings puts each finding on the line of its path, or of the
// nearest enclosing value the body has; findings with a line and column
// (syntax errors) on that raw line.
func placeFindings(fs event.Findings, pretty []BodyLine, rawLines int, requestFinding func(event.Code) bool) []Mark {
	at := map[string]int{}
	for i := len(pretty) - 1; i >= 0; i-- {
		at[pretty[i].Path] = i // the first line of a path wins
	}
	out := make([]Mark, 0, len(fs))
	for _, f := range fs {
		m := Mark{Finding: f, At: -1}
		switch {
		case requestFinding(f.Code) && f.Path == "":
		case pretty != nil:
			p := f.Path
			for {
				if i, ok := at[p]; ok {
					m.At, m.Exact = i, p == f.Path
					break
				}
				if p == "" {
					break
				}
				p = p[:strings.LastIndexByte(p, '/')]
			}
		case f.Line > 0 && f.Line <= rawLines:
			m.At, m.Exact = f.Line-1, true
		}
		out = append(out, m)
	}
	return out
}
