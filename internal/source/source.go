// Package source reads callbacks from files, as a stream: plain JSON files
// (one callback each, pretty-printed or not), NDJSON / JSON Lines files (one
// callback per line), livecb capture logs and HAR files. Memory is bounded
// by Options.MaxRecord, whatever the input: a record above it is refused
// with a located *TooLargeError, skipped without being held, and reading
// goes on with the next one.
package source

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/livecb/livecb/internal/capture"
)

// Item is one callback read from a file.
type Item struct {
	File string
	Line int // 1-based line where the callback starts
	// Body is the callback's bytes, never to be written: a capture
	// record's is the memory of its decoded body string.
	Body []byte
	// Time is when the callback arrived, for inputs that know it (captures);
	// zero otherwise.
	Time time.Time
	// Capture is the whole record when the input is a capture log.
	Capture *capture.Record
	// Truncated marks a last line without its newline that does not parse: a
	// file cut by a crash. Readers skip it with a warning.
	Truncated bool
	// Broken says why a record could not be read; Body is then the raw line
	// when there is one. A record over Options.MaxRecord is broken with a
	// *TooLargeError, and has no Body.
	Broken error
	// Format is the format of the file the item comes from.
	Format Format
	// ContentType and Target (path and query) are those of the original
	// request, for inputs that recorded it (captures, HAR); "" otherwise.
	ContentType string
	Target      string
}

// contentType is a captured header's Content-Type: the capture's keys are
// canonical (the listener wrote them so), which Get would make them again
// on every record; a hand-made capture's may not be.
func contentType(h http.Header) string {
	if vs, ok := h["Content-Type"]; ok && len(vs) > 0 {
		return vs[0]
	}
	return h.Get("Content-Type")
}

// Where is file:line, for messages. validate and replay make it for every
// record: concatenated, not formatted through fmt.
func (it Item) Where() string { return it.File + ":" + strconv.Itoa(it.Line) }

// Format of an input file.
type Format string

const (
	FormatJSON    Format = "json"    // one callback, the whole file
	FormatNDJSON  Format = "ndjson"  // one callback per line
	FormatCapture Format = "capture" // livecb listen --save
	FormatHAR     Format = "har"     // HAR 1.2 (browser developer tools, mitmproxy, Charles)
)

// DefaultMaxRecord is the record limit when Options.MaxRecord is 0: far
// above any callback (the spec's bodies are a few hundred bytes, a
// listener keeps 1 MiB by default), far below what would strain memory.
const DefaultMaxRecord = 16 << 20

// Options configure reading.
type Options struct {
	// MaxRecord is the largest record read, in bytes: one line of an NDJSON
	// file or capture log, a whole JSON document, one HAR entry. 0 means
	// DefaultMaxRecord.
	MaxRecord int64
}

// Limit is the record limit in force: MaxRecord, or DefaultMaxRecord.
func (o Options) Limit() int64 {
	if o.MaxRecord > 0 {
		return o.MaxRecord
	}
	return DefaultMaxRecord
}

// Stats say what Read found.
type Stats struct {
	Format Format
	// Items is how many items were handed to fn, broken, truncated and
	// oversized ones included. 0 means the input holds no callback at all
	// (it is empty, or only blank lines).
	Items int
}

// Read reads every callback of r, calling fn for each in file order. name is
// used in Item.File and in errors. fn's error stops the reading and is
// returned as it is; an error of r is returned as a *FileError.
func Read(name string, r io.Reader, opts Options, fn func(Item) error) (Stats, error) {
	var st Stats
	count := func(it Item) error {
		st.Items++
		return fn(it)
	}
	var err error
	br := bufio.NewReaderSize(r, 1<<16)
	if isHAR(br) {
		st.Format = FormatHAR
		err = readHAR(name, br, opts.Limit(), count)
	} else {
		st.Format, err = readText(name, br, opts.Limit(), count)
	}
	var re *readError
	if errors.As(err, &re) {
		return st, &FileError{File: name, Err: re.err}
	}
	return st, err
}

// readError marks an error of the underlying reader, as opposed to fn's.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }

// readText reads a JSON document, an NDJSON file or a capture log.
func readText(name string, br *bufio.Reader, limit int64, fn func(Item) error) (Format, error) {
	lr := &lineReader{r: br, limit: limit}

	// The first non-blank line decides: a complete JSON value on its own
	// means one value per line (NDJSON or a capture log). Blank lines
	// before it are kept only while they fit in the limit: they are the
	// start of the document if it is one.
	var pending []*line
	var pendingBytes int64
	var first *line
	for {
		l, err := lr.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return FormatJSON, nil // empty, or only blank lines: no callback
			}
			return FormatJSON, err
		}
		if l.tooLarge > 0 || len(bytes.TrimSpace(l.text)) > 0 {
			first = l.clone()
			break
		}
		pendingBytes += int64(len(l.text)) + 1
		if pendingBytes <= limit {
			pending = append(pending, l.clone())
		}
	}
	if first.tooLarge > 0 || json.Valid(first.text) {
		return lineMode(name, lr, []*line{first}, fn)
	}

	// Not a value on one line: read the whole document (up to the limit),
	// which is one callback when it parses as one.
	lines := append(pending, first)
	size := pendingBytes + int64(len(first.text))
	for size <= limit {
		l, err := lr.next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				return FormatJSON, err
			}
			doc := joinLines(lines)
			if json.Valid(doc) || !anyLineIsJSON(lines) {
				// A single document, valid or not: validate reports its
				// syntax errors with line and column inside the file.
				return FormatJSON, fn(Item{File: name, Line: 1, Body: doc, Format: FormatJSON})
			}
			return lineMode(name, lr, lines, fn)
		}
		lines = append(lines, l.clone())
		if l.tooLarge > 0 {
			size = limit + 1
			break
		}
		size += int64(len(l.text)) + 1
	}
	if anyLineIsJSON(lines) {
		// Lines, the first of them broken.
		return lineMode(name, lr, lines, fn)
	}
	// One document over the limit. It is the whole input: nothing follows
	// it to read.
	return FormatJSON, fn(Item{File: name, Line: 1, Format: FormatJSON,
		Broken: &TooLargeError{File: name, Line: 1, Offset: 0, Read: lr.off, Limit: limit}})
}

func joinLines(lines []*line) []byte {
	n := 0
	for _, l := range lines {
		n += len(l.text) + 1
	}
	b := make([]byte, 0, n)
	for i, l := range lines {
		if i > 0 {
			b = append(b, '\n')
		}
		b = append(b, l.text...)
	}
	return b
}

func anyLineIsJSON(lines []*line) bool {
	for _, l := range lines {
		if t := bytes.TrimSpace(l.text); len(t) > 0 && json.Valid(t) {
			return true
		}
	}
	return false
}

// lineMode emits one item per non-blank line: first the buffered lines, then
// the rest of lr.
func lineMode(name string, lr *lineReader, buffered []*line, fn func(Item) error) (Format, error) {
	format := FormatNDJSON
	decided := false
	emit := func(l *line) error {
		if l.tooLarge > 0 {
			return fn(Item{File: name, Line: l.no, Format: format,
				Broken: &TooLargeError{File: name, Line: l.no, Offset: l.off, Read: l.tooLarge, Limit: lr.limit}})
		}
		text := bytes.TrimRight(l.text, "\r")
		if len(bytes.TrimSpace(text)) == 0 {
			return nil
		}
		if !decided {
			decided = true
			if capture.IsRecord(text) {
				format = FormatCapture
			}
		}
		// text is the reader's until the next line: an Item keeps a copy
		// (a capture record's decoder makes its own).
		it := Item{File: name, Line: l.no, Format: format}
		if !l.newline && !json.Valid(text) {
			it.Body, it.Truncated = bytes.Clone(text), true
			return fn(it)
		}
		if format != FormatCapture {
			it.Body = bytes.Clone(text)
		} else {
			rec, err := capture.Parse(text)
			if err != nil {
				it.Body, it.Broken = bytes.Clone(text), err
				return fn(it)
			}
			body, _ := rec.BytesShared()
			it.Body, it.Capture, it.Time = body, rec, rec.Time
			// The exact target (bytes that are not UTF-8 kept), for
			// replay's --preserve-path.
			target, err := rec.ExactTarget()
			if err != nil {
				target = rec.Target
			}
			it.ContentType, it.Target = contentType(rec.Header), target
		}
		return fn(it)
	}
	for _, l := range buffered {
		if err := emit(l); err != nil {
			return format, err
		}
	}
	for {
		l, err := lr.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return format, nil
			}
			return format, err
		}
		if err := emit(l); err != nil {
			return format, err
		}
	}
}

type line struct {
	text    []byte
	no      int   // 1-based line number
	off     int64 // byte offset of the line's first byte
	newline bool  // the line ended with '\n' (false only for the last line)
	// tooLarge is set, to the bytes read of it, when the line is longer
	// than the limit; text is then nil.
	tooLarge int64
}

// lineReader returns lines of up to limit bytes. A longer line is returned
// as soon as it passes the limit, with tooLarge set and without its text;
// the next call first reads past the rest of it, keeping nothing, so that a
// line without end (/dev/zero) costs no memory.
//
// The line it returns, and its text, are the reader's until the next call
// (the text is in the reader's buffer when it fits): whoever keeps one
// clones it. A capture line is decoded, not kept, and copying every line
// was a tenth of reading a capture.
type lineReader struct {
	r     *bufio.Reader
	limit int64
	off   int64 // offset of the next byte
	no    int   // lines started
	skip  bool  // the rest of an oversized line comes next
	cur   line
}

// clone is a copy of l that stays.
func (l *line) clone() *line {
	c := *l
	c.text = bytes.Clone(l.text)
	return &c
}

// next returns the next line, or io.EOF after the last one; other errors
// are those of the reader, as *readError.
func (lr *lineReader) next() (*line, error) {
	if lr.skip {
		lr.skip = false
		for {
			chunk, err := lr.r.ReadSlice('\n')
			lr.off += int64(len(chunk))
			if err == nil {
				break
			}
			if !errors.Is(err, bufio.ErrBufferFull) {
				return nil, lr.fail(err)
			}
		}
	}
	l := &lr.cur
	*l = line{no: lr.no + 1, off: lr.off}
	var acc []byte
	for {
		chunk, err := lr.r.ReadSlice('\n')
		lr.off += int64(len(chunk))
		text := chunk
		if err == nil {
			text = chunk[:len(chunk)-1]
		}
		if int64(len(acc))+int64(len(text)) > lr.limit {
			lr.no++
			l.tooLarge = int64(len(acc)) + int64(len(text))
			// The line goes on unless its newline is in this chunk.
			lr.skip = err != nil
			if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
				lr.skip = false // it ended with the input
			}
			return l, nil
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			acc = append(acc, chunk...)
			continue
		}
		if err != nil && len(acc) == 0 && len(chunk) == 0 {
			return nil, lr.fail(err)
		}
		lr.no++
		if acc == nil {
			l.text = text // (in the buffer, until the next read)
		} else {
			l.text = append(acc, text...)
		}
		l.newline = err == nil
		if err != nil && !errors.Is(err, io.EOF) {
			// A read error after part of a line: the part is not a record.
			return nil, lr.fail(err)
		}
		return l, nil
	}
}

func (lr *lineReader) fail(err error) error {
	if errors.Is(err, io.EOF) {
		return io.EOF
	}
	return &readError{err}
}
