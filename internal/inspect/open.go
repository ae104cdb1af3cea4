package inspect

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/livecb/livecb/internal/capture"
	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/source"
)

// OpenOptions configure Open.
type OpenOptions struct {
	// Strict judges the bodies of HAR and NDJSON inputs (which carry no
	// findings of their own) with every warning as an error.
	Strict bool
	// TempDir is where the records of inputs that are not capture logs are
	// spilled (default os.TempDir()).
	TempDir string
	// Read bounds the records read from HAR, NDJSON and JSON inputs.
	Read source.Options
}

// FileError says which input could not be read.
type FileError = source.FileError

// Open reads files into an inspector: capture logs are indexed where they
// are, by the offset of each record; HAR, NDJSON and JSON files are read
// as livecb replay reads them (internal/source) and their callbacks written,
// as capture records, to a temporary file the inspector removes on Close.
// Either way memory holds a summary per request, not the bodies.
func Open(paths []string, opts OpenOptions) (*Inspector, error) {
	if len(paths) > 0xFFFF {
		return nil, fmt.Errorf("%d files: the inspector opens at most 65535 at once", len(paths))
	}
	in := &Inspector{ix: newIndex(0), changed: make(chan struct{}, 1)}
	var sp *spiller
	for i, p := range paths {
		in.files = append(in.files, p)
		in.readers = append(in.readers, nil)
		f, err := os.Open(p)
		if err != nil {
			in.Close()
			return nil, &FileError{File: p, Err: err}
		}
		isCapture, err := sniffCapture(f)
		if err == nil && isCapture {
			in.readers[i] = f
			in.closers = append(in.closers, f)
			err = in.indexCapture(uint16(i), f)
		} else if err == nil {
			if sp == nil {
				if sp, err = in.newSpiller(opts.TempDir); err != nil {
					f.Close()
					in.Close()
					return nil, err
				}
			}
			err = sp.read(uint16(i), p, f, opts.Read, event.Options{Strict: opts.Strict})
			f.Close()
		}
		if err != nil {
			in.Close()
			return nil, &FileError{File: p, Err: err}
		}
	}
	if sp != nil {
		if err := sp.done(); err != nil {
			in.Close()
			return nil, err
		}
	}
	return in, nil
}

// sniffCapture reads the first line that is not blank to tell a capture
// log, and rewinds.
func sniffCapture(f *os.File) (bool, error) {
	defer f.Seek(0, io.SeekStart)
	br := bufio.NewReaderSize(f, 64<<10)
	for {
		line, err := br.ReadSlice('\n')
		if t := bytes.TrimSpace(line); len(t) > 0 {
			// A capture record begins with its format: the first 64 KiB
			// of the line say enough.
			_, known := capture.CutFormat(t)
			return known || (err == nil && capture.IsRecord(t)), nil
		}
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, bufio.ErrBufferFull) {
				return false, nil
			}
			return false, err
		}
	}
}

// indexCapture adds every line of a capture log, by offset.
func (in *Inspector) indexCapture(file uint16, f *os.File) error {
	br := bufio.NewReaderSize(f, 256<<10)
	var off int64
	lineNo := int32(0)
	var m memo
	for {
		line, nl, err := nextLine(br)
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		start := off
		off += int64(len(line))
		if nl {
			off++
		}
		if len(line) > 0 || nl {
			lineNo++
		}
		if t := bytes.TrimSpace(line); len(t) > 0 {
			e := in.ix.next()
			e.file, e.line, e.off, e.length = file, lineNo, start, int64(len(line))
			if rec, perr := capture.Parse(line); perr != nil {
				e.verdict = VerdictBroken
			} else {
				body, _ := rec.Bytes()
				in.ix.summarize(e, rec, rec.Method == http.MethodPost, nil, body, &m)
			}
			in.ix.publish()
		}
		if err != nil {
			return nil
		}
	}
}

// nextLine reads one line of any length (up to maxLine), without its
// newline; nl says whether it had one.
func nextLine(br *bufio.Reader) ([]byte, bool, error) {
	var acc []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			acc = append(acc, chunk...)
			if len(acc) > maxLine {
				return nil, false, fmt.Errorf("a line longer than %d bytes", maxLine)
			}
			continue
		}
		if acc != nil {
			chunk = append(acc, chunk...)
		}
		if err == nil {
			return chunk[:len(chunk)-1], true, nil
		}
		return chunk, false, err
	}
}

// spiller writes the callbacks of inputs that are not capture logs to a
// temporary capture log, which the inspector then reads by offset.
type spiller struct {
	in   *Inspector
	f    *os.File
	w    *bufio.Writer
	off  int64
	seq  uint64
	file uint16 // the spill file's own index in in.readers
	memo memo
}

func (in *Inspector) newSpiller(dir string) (*spiller, error) {
	f, err := os.CreateTemp(dir, "livecb-inspect-*.ndjson")
	if err != nil {
		return nil, fmt.Errorf("a temporary file for the inspector: %w", err)
	}
	in.spill = f.Name()
	in.closers = append(in.closers, f)
	// The spill file is not one the user named: it gets an index of its
	// own, beyond theirs, which only readers use.
	return &spiller{in: in, f: f, w: bufio.NewWriterSize(f, 256<<10), file: 0xFFFF}, nil
}

func (sp *spiller) read(file uint16, name string, r io.Reader, read source.Options, opts event.Options) error {
	_, err := source.Read(name, r, read, func(it source.Item) error {
		rec := &capture.Record{Time: it.Time, Method: http.MethodPost, Target: it.Target}
		if it.ContentType != "" {
			rec.SetHeader(http.Header{"Content-Type": {it.ContentType}})
		}
		var ev *event.Event
		verdict := Verdict(0)
		switch {
		case it.Broken != nil || it.Truncated:
			verdict = VerdictBroken
			rec.SetBody(it.Body)
			rec.Size = int64(len(it.Body))
			msg := "the last line is cut short (a file cut by a crash?)"
			if it.Broken != nil {
				msg = it.Broken.Error()
			}
			rec.Findings = event.Findings{{Severity: event.Error, Code: event.CodeTruncated, Message: msg}}
		default:
			rec.SetBody(it.Body)
			rec.Size = int64(len(it.Body))
			ev, rec.Findings = event.Check(it.Body, opts)
			if ev != nil {
				rec.Kind = ev.Kind
			}
		}
		sp.seq++
		rec.Seq, rec.Format = sp.seq, capture.Format
		enc, err := capture.Encode(rec, nil)
		if err != nil {
			return err
		}
		line := capture.AppendLine(nil, sp.seq, enc)
		e := sp.in.ix.next()
		e.file, e.line = file, int32(it.Line)
		sp.in.ix.summarize(e, rec, true, ev, nil, &sp.memo)
		if verdict != 0 {
			e.verdict = verdict
		}
		e.off, e.length = sp.off, int64(len(line)-1)
		e.spilled = true
		sp.off += int64(len(line))
		if _, err := sp.w.Write(line); err != nil {
			return err
		}
		sp.in.ix.publish()
		return nil
	})
	return err
}

func (sp *spiller) done() error {
	if err := sp.w.Flush(); err != nil {
		return fmt.Errorf("writing the inspector's temporary file: %w", err)
	}
	sp.in.spillReader = sp.f
	return nil
}
