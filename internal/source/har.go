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
// by a scanner that keeps nothing but the entry it is in, up to the record
// limit, which is then decoded: memory is bounded by the limit, not by the
// file or by its largest entry.

// harSniff is how much of the start of a file is looked at to recognise a HAR.
const harSniff = 4096

// isHAR reports whether the start of br is a JSON object whose first member
// is "log" holding an object, without consuming anything. It reads no more
// than it needs to decide, so that a pipe's first callback is not held
// waiting for more bytes.
func isHAR(br *bufio.Reader) bool {
	for n := 1; ; {
		head, err := br.Peek(min(max(n, br.Buffered()), harSniff))
		if decided, yes := harHead(head); decided {
			return yes
		}
		if err != nil || len(head) == harSniff {
			return false
		}
		n = len(head) + 1
	}
}

// harHead decides, when head is enough to, whether it is the start of a HAR.
func harHead(head []byte) (decided, yes bool) {
	const bom = "\xef\xbb\xbf"
	if len(head) < len(bom) && strings.HasPrefix(bom, string(head)) {
		return false, false
	}
	dec := json.NewDecoder(bytes.NewReader(bytes.TrimPrefix(head, []byte(bom))))
	for _, want := range []any{json.Delim('{'), "log", json.Delim('{')} {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return false, false // more is needed
		}
		if err != nil || tok != want {
			return true, false
		}
	}
	return true, true
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

// readHAR emits one Item per POST entry with a body, in file order. An entry
// over limit is one oversized item, reported as soon as it passes the limit;
// an entry that is not a valid entry is one broken item; reading goes on
// with the next entry in both cases. A syntax error outside the entries ends
// the reading with a broken item.
func readHAR(name string, br *bufio.Reader, limit int64, fn func(Item) error) error {
	s := &scanner{r: br, line: 1}
	if bom, _ := br.Peek(3); string(bom) == "\xef\xbb\xbf" {
		br.Discard(3)
		s.off = 3
	}
	var stopped error // fn's own error, returned as it is
	emit := func(it Item) error {
		if err := fn(it); err != nil {
			stopped = err
			return err
		}
		return nil
	}
	var (
		inEntry   bool // the error below happened inside an entry
		entryLine int  // where that entry starts
		reported  bool // and it was reported as too large
	)
	entries := func(c byte) error {
		if c != '[' {
			return s.syntaxf("log.entries is not an array (found %q)", c)
		}
		c, err := s.next()
		if err != nil || c == ']' {
			return err
		}
		for i := 0; ; i++ {
			pointer := fmt.Sprintf("/log/entries/%d", i)
			start := s.off - 1
			inEntry, entryLine, reported = true, s.line, false
			k := &keeper{limit: limit, over: func(read int64) error {
				reported = true
				return emit(Item{File: name, Line: entryLine, Format: FormatHAR, Broken: &TooLargeError{
					File: name, Line: entryLine, Offset: start, Entry: pointer, Read: read, Limit: limit}})
			}}
			s.keep = k
			if err := k.write([]byte{c}); err != nil {
				return err
			}
			err := s.value(c)
			s.keep = nil
			if err != nil {
				return err
			}
			inEntry = false
			if !k.passed {
				var e harEntry
				if err := json.Unmarshal(k.buf, &e); err != nil {
					err = emit(Item{File: name, Line: entryLine, Format: FormatHAR, Body: k.buf,
						Broken: fmt.Errorf("HAR entry %s: %s", pointer, entryError(err))})
					if err != nil {
						return err
					}
				} else if it, ok := harItem(name, entryLine, &e); ok {
					if err := emit(it); err != nil {
						return err
					}
				}
			}
			var done bool
			if c, done, err = s.after(']', "an entry"); done || err != nil {
				return err
			}
		}
	}
	c, err := s.next()
	if err == nil {
		err = s.object(c, func(key string, c byte) error {
			if key != "log" {
				return s.value(c)
			}
			if c != '{' {
				return s.syntaxf("log is not an object (found %q)", c)
			}
			return s.object(c, func(key string, c byte) error {
				if key == "entries" {
					return entries(c)
				}
				return s.value(c)
			})
		})
	}
	var re *readError
	switch {
	case err == nil:
		return nil
	case stopped != nil:
		return stopped
	case errors.As(err, &re):
		return err
	case errors.Is(err, io.ErrUnexpectedEOF):
		if inEntry && reported {
			return nil // the cut entry was reported as too large
		}
		// A HAR cut short, like a capture's last line after a crash.
		line := s.line
		if inEntry {
			line = entryLine
		}
		return fn(Item{File: name, Line: line, Format: FormatHAR, Truncated: true})
	}
	return fn(Item{File: name, Line: s.line, Format: FormatHAR,
		Broken: fmt.Errorf("HAR: %v; the rest of the file is not read", err)})
}

// entryError says in a few words why an entry does not decode.
func entryError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("%s is a JSON %s, which HAR does not allow there", te.Field, te.Value)
	}
	return "not valid JSON: " + strings.TrimPrefix(err.Error(), "json: ")
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
