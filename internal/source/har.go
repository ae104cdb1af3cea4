package source

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"
)

// HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/) as written by
// browser developer tools, mitmproxy and Charles: {"log": {..., "entries":
// [...]}}. Each POST entry with a body is one callback. The file is walked
// token by token and decoded one entry at a time, so memory is bounded by the
// largest entry, not by the file.

// harSniff is how much of the start of a file is looked at to recognise a HAR.
const harSniff = 4096

// isHAR reports whether the buffered start of br is a JSON object whose first
// member is "log" holding an object, without consuming anything.
func isHAR(br *bufio.Reader) bool {
	head, _ := br.Peek(harSniff)
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	dec := json.NewDecoder(bytes.NewReader(head))
	for _, want := range []any{json.Delim('{'), "log", json.Delim('{')} {
		tok, err := dec.Token()
		if err != nil || tok != want {
			return false
		}
	}
	return true
}

type harEntry struct {
	StartedDateTime string `json:"startedDateTime"`
	Request         struct {
		Method  string `json:"method"`
		URL     string `json:"url"`
		Headers []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"headers"`
		PostData *struct {
			MimeType string `json:"mimeType"`
			Text     string `json:"text"`
			// Encoding is not in HAR 1.2 for postData, but some exporters
			// write binary bodies as base64 and say so, as HAR does for
			// response content.
			Encoding string `json:"encoding"`
		} `json:"postData"`
	} `json:"request"`
}

// readHAR emits one Item per POST entry with a body, in file order.
func readHAR(name string, r io.Reader, fn func(Item) error) error {
	lc := &lineCounter{r: r}
	dec := json.NewDecoder(lc)
	lineAt := func(off int64) int { return lc.lineAt(off) }

	cut := func(err error) error {
		line := lineAt(dec.InputOffset())
		it := Item{File: name, Line: line, Format: FormatHAR}
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			// A HAR cut short, like a capture's last line after a crash.
			it.Truncated = true
		} else {
			it.Broken = fmt.Errorf("HAR: %v; the rest of the file is not read", err)
		}
		return fn(it)
	}
	expect := func(want json.Delim) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if tok != want {
			return fmt.Errorf("want %q, found %v", want, tok)
		}
		return nil
	}

	// member reads the object that comes next, calls inner for the value
	// of key and skips every other member.
	member := func(key string, inner func() error) error {
		if err := expect('{'); err != nil {
			return err
		}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return err
			}
			if k == key {
				err = inner()
			} else {
				err = skip(dec)
			}
			if err != nil {
				return err
			}
		}
		_, err := dec.Token() // }
		return err
	}
	var stopped error // fn's own error, returned as it is
	entries := func() error {
		if err := expect('['); err != nil {
			return err
		}
		for dec.More() {
			start := dec.InputOffset() + leadingSeparators(dec.Buffered())
			line := lineAt(start)
			var e harEntry
			if err := dec.Decode(&e); err != nil {
				return err
			}
			it, ok := harItem(name, line, &e)
			if !ok {
				continue
			}
			if err := fn(it); err != nil {
				stopped = err
				return err
			}
		}
		_, err := dec.Token() // ]
		return err
	}
	err := member("log", func() error { return member("entries", entries) })
	switch {
	case stopped != nil:
		return stopped
	case err != nil:
		return cut(err)
	}
	return nil
}

// harItem turns an entry into a callback, or false when it is not a POST
// with a body.
func harItem(name string, line int, e *harEntry) (Item, bool) {
	pd := e.Request.PostData
	if !strings.EqualFold(e.Request.Method, "POST") || pd == nil || pd.Text == "" {
		return Item{}, false
	}
	it := Item{File: name, Line: line, Format: FormatHAR, Body: []byte(pd.Text), ContentType: pd.MimeType}
	if strings.EqualFold(pd.Encoding, "base64") {
		b, err := base64.StdEncoding.DecodeString(pd.Text)
		if err != nil {
			it.Broken = fmt.Errorf("HAR entry: postData.text is not valid base64: %v", err)
			return it, true
		}
		it.Body = b
	}
	if it.ContentType == "" {
		for _, h := range e.Request.Headers {
			if strings.EqualFold(h.Name, "Content-Type") {
				it.ContentType = h.Value
			}
		}
	}
	if u, err := url.Parse(e.Request.URL); err == nil {
		it.Target = u.RequestURI()
	}
	if e.StartedDateTime != "" {
		t, err := time.Parse(time.RFC3339Nano, e.StartedDateTime)
		if err != nil {
			it.Broken = fmt.Errorf("HAR entry: startedDateTime %q is not an ISO 8601 time", e.StartedDateTime)
			return it, true
		}
		it.Time = t
	}
	return it, true
}

// skip reads past one value.
func skip(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				depth++
			default:
				depth--
			}
		}
		if depth == 0 {
			return nil
		}
	}
}

// leadingSeparators counts the white space and commas at the start of r (the
// decoder's buffer), which lie between the last token and the next value.
func leadingSeparators(r io.Reader) int64 {
	var n int64
	buf := make([]byte, 256)
	for {
		m, err := r.Read(buf)
		for _, c := range buf[:m] {
			if c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != ',' {
				return n
			}
			n++
		}
		if err != nil || m == 0 {
			return n
		}
	}
}

// lineCounter passes reads through and remembers where newlines are, so that
// the line of a byte offset can be asked for. Offsets must be asked for in
// increasing order; newlines before the last asked offset are forgotten, so
// memory is bounded by how far the decoder reads ahead.
type lineCounter struct {
	r        io.Reader
	read     int64
	newlines []int64 // offsets of newlines not yet counted
	counted  int
}

func (lc *lineCounter) Read(p []byte) (int, error) {
	n, err := lc.r.Read(p)
	for i, c := range p[:n] {
		if c == '\n' {
			lc.newlines = append(lc.newlines, lc.read+int64(i))
		}
	}
	lc.read += int64(n)
	return n, err
}

// lineAt returns the 1-based line of byte offset off.
func (lc *lineCounter) lineAt(off int64) int {
	i := 0
	for i < len(lc.newlines) && lc.newlines[i] < off {
		i++
	}
	lc.counted += i
	lc.newlines = append(lc.newlines[:0], lc.newlines[i:]...)
	return lc.counted + 1
}
