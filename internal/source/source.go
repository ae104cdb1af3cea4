// Package source reads callbacks from files, as a stream: plain JSON files
// (one callback each, pretty-printed or not), NDJSON / JSON Lines files (one
// callback per line) and livecb capture logs. Memory stays flat however
// large the file; a line of many megabytes is read like any other.
package source

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/livecb/livecb/internal/capture"
)

// Item is one callback read from a file.
type Item struct {
	File string
	Line int // 1-based line where the callback starts
	Body []byte
	// Time is when the callback arrived, for inputs that know it (captures);
	// zero otherwise.
	Time time.Time
	// Capture is the whole record when the input is a capture log.
	Capture *capture.Record
	// Truncated marks a last line without its newline that does not parse: a
	// file cut by a crash. Readers skip it with a warning.
	Truncated bool
	// Broken says why a record of a structured input (a capture log, a HAR
	// file) could not be read; Body is then the raw line when there is one.
	Broken error
	// Format is the format of the file the item comes from.
	Format Format
	// ContentType and Target (path and query) are those of the original
	// request, for inputs that recorded it (captures, HAR); "" otherwise.
	ContentType string
	Target      string
}

// Where is file:line, for messages.
func (it Item) Where() string { return fmt.Sprintf("%s:%d", it.File, it.Line) }

// Format of an input file.
type Format string

const (
	FormatJSON    Format = "json"    // one callback, the whole file
	FormatNDJSON  Format = "ndjson"  // one callback per line
	FormatCapture Format = "capture" // livecb listen --save
	FormatHAR     Format = "har"     // HAR 1.2 (browser developer tools, mitmproxy, Charles)
)

// wholeDocLimit bounds how much of a file is held in memory while deciding
// whether it is a single (multi-line) JSON document. Past it the file is read
// as lines.
const wholeDocLimit = 64 << 20

// Read reads every callback of r, calling fn for each in file order. name is
// used in Item.File. fn's error stops the reading and is returned.
func Read(name string, r io.Reader, fn func(Item) error) (Format, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	if isHAR(br) {
		if bom, _ := br.Peek(3); string(bom) == "\xef\xbb\xbf" {
			br.Discard(3)
		}
		return FormatHAR, readHAR(name, br, fn)
	}
	lr := &lineReader{r: br}

	// The first non-blank line decides: a complete JSON value on its own
	// means one value per line (NDJSON or a capture log).
	var buffered []line
	var first []byte
	for {
		line, err := lr.next()
		if line == nil && err != nil {
			if errors.Is(err, io.EOF) {
				if len(buffered) > 0 {
					// Only blank lines: an empty document.
					return FormatJSON, fn(Item{File: name, Line: 1, Body: joinLines(buffered), Format: FormatJSON})
				}
				return FormatJSON, fn(Item{File: name, Line: 1, Body: []byte{}, Format: FormatJSON})
			}
			return "", err
		}
		buffered = append(buffered, *line)
		if len(bytes.TrimSpace(line.text)) > 0 {
			first = line.text
			break
		}
	}
	if json.Valid(first) {
		return lineMode(name, lr, buffered, fn)
	}

	// Not a value on one line: read the whole document (bounded), which is
	// one callback when it parses as one.
	doc := joinLines(buffered)
	lines := buffered
	for len(doc) <= wholeDocLimit {
		line, err := lr.next()
		if line == nil && err != nil {
			if !errors.Is(err, io.EOF) {
				return "", err
			}
			if json.Valid(doc) || !anyLineIsJSON(lines) {
				// A single document, valid or not: validate reports its
				// syntax errors with line and column inside the file.
				return FormatJSON, fn(Item{File: name, Line: 1, Body: doc, Format: FormatJSON})
			}
			break
		}
		doc = append(append(doc, '\n'), line.text...)
		lines = append(lines, *line)
	}
	return lineMode(name, lr, lines, fn)
}

func joinLines(lines []line) []byte {
	var b []byte
	for i, l := range lines {
		if i > 0 {
			b = append(b, '\n')
		}
		b = append(b, l.text...)
	}
	return b
}

func anyLineIsJSON(lines []line) bool {
	for _, l := range lines {
		if t := bytes.TrimSpace(l.text); len(t) > 0 && json.Valid(t) {
			return true
		}
	}
	return false
}

// lineMode emits one item per non-blank line: first the buffered lines, then
// the rest of lr.
func lineMode(name string, lr *lineReader, buffered []line, fn func(Item) error) (Format, error) {
	format := FormatNDJSON
	decided := false
	lineNo := 0
	emit := func(text []byte, newline bool) error {
		lineNo++
		text = bytes.TrimRight(text, "\r")
		if len(bytes.TrimSpace(text)) == 0 {
			return nil
		}
		if !decided {
			decided = true
			if capture.IsRecord(text) {
				format = FormatCapture
			}
		}
		it := Item{File: name, Line: lineNo, Body: text, Format: format}
		if !newline && !json.Valid(text) {
			it.Truncated = true
			return fn(it)
		}
		if format == FormatCapture {
			rec, err := capture.Parse(text)
			if err != nil {
				it.Broken = err
				return fn(it)
			}
			body, _ := rec.Bytes()
			it.Body, it.Capture, it.Time = body, rec, rec.Time
			it.ContentType, it.Target = rec.Header.Get("Content-Type"), rec.Target
		}
		return fn(it)
	}
	for _, b := range buffered {
		if err := emit(b.text, b.newline); err != nil {
			return format, err
		}
	}
	for {
		line, err := lr.next()
		if line != nil {
			if e := emit(line.text, line.newline); e != nil {
				return format, e
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return format, nil
			}
			return format, err
		}
	}
}

type line struct {
	text    []byte
	newline bool // the line ended with '\n' (false only for the last line)
}

// lineReader returns lines of any length. The returned text is a fresh copy.
type lineReader struct {
	r *bufio.Reader
}

func (lr *lineReader) next() (*line, error) {
	var acc []byte
	for {
		chunk, err := lr.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			acc = append(acc, chunk...)
			continue
		}
		if acc == nil {
			acc = make([]byte, 0, len(chunk))
		}
		acc = append(acc, chunk...)
		if err != nil {
			if len(acc) == 0 {
				return nil, err
			}
			return &line{text: acc}, err
		}
		return &line{text: acc[:len(acc)-1], newline: true}, nil
	}
}
