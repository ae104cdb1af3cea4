package inspect

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"

	"github.com/livecb/livecb/internal/capture"
	"github.com/livecb/livecb/internal/listen"
)

// Inspector is what the pages show: the index of requests and where their
// records are (files read by offset, or the live window in memory).
type Inspector struct {
	ix *Index
	// files are the names shown for entry.file; readers read them by
	// offset (nil for a file whose records are elsewhere).
	files   []string
	readers []io.ReaderAt
	closers []io.Closer
	spill   string // a temporary file this inspector made and removes
	// spillReader reads it, once written.
	spillReader io.ReaderAt
	// save, in live mode with a capture log, finds the records the window
	// no longer holds.
	save *saveFile
	live bool

	// changed gets a token (without waiting) when a request is added.
	changed chan struct{}
	// prepared keeps what Prepare makes, for the next request once Add
	// used it.
	prepared sync.Pool

	closeOnce sync.Once
	closeErr  error
}

// Defaults of LiveOptions.
const (
	// DefaultWindowBytes is how much memory the records of the live
	// window may take, encoded as for the capture log. Its buffers, of a
	// 32nd of that each, take up to four more: the oldest one's records
	// partly dropped, the newest one's room, two kept to be written again.
	DefaultWindowBytes = 32 << 20
	// DefaultWindowRecords is how many records the live window may hold,
	// whatever their size.
	DefaultWindowRecords = 1 << 15
	// DefaultMaxEntries is how many requests a live index keeps: a summary
	// is about 100 bytes, so 262,144 take about 26 MB.
	DefaultMaxEntries = 1 << 18
)

// LiveOptions configure an inspector fed by a listener.
type LiveOptions struct {
	// SavePath is the capture log the listener appends to, if any: the
	// records the window no longer holds are read from it. Only what is
	// appended after NewLive is looked at.
	SavePath string
	// WindowBytes and WindowRecords bound the records held in memory
	// (defaults DefaultWindowBytes and DefaultWindowRecords); MaxEntries
	// the summaries (default DefaultMaxEntries).
	WindowBytes   int64
	WindowRecords int
	MaxEntries    int64
}

// NewLive returns an inspector to feed with Add from a listener's
// OnRequest (and with Prepare from its Prepare). Without a capture log, it shows the details of the requests
// its window still holds (the newest, WindowBytes of them); every request
// stays in the list until MaxEntries newer ones arrived.
func NewLive(opts LiveOptions) (*Inspector, error) {
	if opts.WindowBytes <= 0 {
		opts.WindowBytes = DefaultWindowBytes
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	if opts.WindowRecords <= 0 {
		opts.WindowRecords = DefaultWindowRecords
	}
	in := &Inspector{ix: newIndex(opts.MaxEntries), live: true, changed: make(chan struct{}, 1)}
	in.ix.win = newWindow(opts.WindowBytes, opts.WindowRecords)
	in.files = []string{""}
	in.readers = []io.ReaderAt{nil}
	if opts.SavePath != "" {
		sf, err := openSaveFile(opts.SavePath)
		if err != nil {
			return nil, err
		}
		in.save = sf
		in.files[0] = opts.SavePath
		in.closers = append(in.closers, sf.f)
	}
	return in, nil
}

// prepared is what Prepare makes of a request for Add.
type prepared struct {
	sum entry
	// enc is the record encoded, when the listener encoded none (no
	// capture log): a buffer kept from one request to the next.
	enc []byte
	// memo is kept from one request to the next too: the summariser's.
	memo memo
}

// maxKeptBuf is the largest encoding buffer kept for the next request.
const maxKeptBuf = 64 << 10

// Prepare is the listener's other hook (listen.Options.Prepare): called on
// each request's own goroutine, at the same time as others, before the
// request is committed, it does whatever Add would do that needs no
// sequence number: the request's summary, and its encoding when the
// listener has no capture log to encode it for. Add, under the listener's
// commit, is then left with numbering and copying.
func (in *Inspector) Prepare(r *listen.Request) any {
	p, _ := in.prepared.Get().(*prepared)
	if p == nil {
		p = new(prepared)
	}
	p.sum = entry{}
	in.ix.summarize(&p.sum, r.Record, r.Callback, r.Event, nil, &p.memo)
	p.enc = p.enc[:0]
	if r.Encoded == nil {
		if enc, err := capture.Encode(r.Record, p.enc); err == nil {
			p.enc = enc
		}
	}
	return p
}

// Add is the listener's hook: it takes a request as listen.Options.OnRequest
// gets it (one call at a time, in capture order) and returns at once. With
// what Prepare made of the request it only numbers the summary, copies the
// encoded record into the window and publishes both; without, it does
// Prepare's work first. It tells the pages without waiting for them.
func (in *Inspector) Add(r *listen.Request) {
	p, _ := r.Prepared.(*prepared)
	if p == nil {
		p = in.Prepare(r).(*prepared)
	}
	enc := []byte(r.Encoded)
	if enc == nil {
		enc = p.enc
	}
	e := in.ix.next()
	id := e.id
	*e = p.sum
	e.id, e.seq = id, r.Record.Seq
	e.off, e.length = in.ix.win.hold(id, enc), int64(len(enc))
	in.ix.publish()
	if cap(p.enc) > maxKeptBuf {
		p.enc = nil
	}
	in.prepared.Put(p)
	select {
	case in.changed <- struct{}{}:
	default:
	}
}

// Len is how many requests the inspector has seen.
func (in *Inspector) Len() int64 { return in.ix.Len() }

// Close releases the files and removes the temporary one.
func (in *Inspector) Close() error {
	in.closeOnce.Do(func() {
		for _, c := range in.closers {
			if err := c.Close(); err != nil && in.closeErr == nil {
				in.closeErr = err
			}
		}
		if in.spill != "" {
			if err := os.Remove(in.spill); err != nil && in.closeErr == nil {
				in.closeErr = err
			}
		}
	})
	return in.closeErr
}

// NotHeldError says that a request's record is no longer available: the
// live window dropped it and no capture log has it.
type NotHeldError struct{ ID int64 }

func (e *NotHeldError) Error() string {
	return fmt.Sprintf("request %d is no longer held: without a capture log the inspector keeps only the newest requests in memory", e.ID)
}

// maxLine bounds a line read back from a file: a record of a body at the
// listener's largest limit, base64-encoded, with room for its headers.
const maxLine = 64 << 20

// record returns the whole record of e, and the raw line for a broken one.
func (in *Inspector) record(e *entry) (*capture.Record, []byte, error) {
	if line, ok := in.ix.held(e); ok {
		// (An error would be the encoder writing what its own reader
		// refuses: the capture log, if any, has the same bytes.)
		rec, err := capture.Parse(line[:len(line)-1])
		return rec, nil, err
	}
	off, n := e.off, e.length
	var r io.ReaderAt
	switch {
	case e.spilled && in.spillReader != nil:
		r = in.spillReader
	case !in.live && off >= 0 && int(e.file) < len(in.readers) && in.readers[e.file] != nil:
		r = in.readers[e.file]
	case in.save != nil && e.seq > 0:
		var err error
		if off, n, err = in.save.find(e.seq); err != nil {
			return nil, nil, err
		}
		r = in.save.f
	default:
		return nil, nil, &NotHeldError{ID: e.id}
	}
	if n > maxLine {
		return nil, nil, fmt.Errorf("the record of request %d is %d bytes long, more than the inspector reads (%d)", e.id, n, maxLine)
	}
	line := make([]byte, n)
	if _, err := r.ReadAt(line, off); err != nil {
		return nil, nil, fmt.Errorf("reading request %d back from %s: %w", e.id, in.files[e.file], err)
	}
	if e.verdict == VerdictBroken && !e.spilled {
		return nil, line, nil
	}
	rec, err := capture.Parse(line)
	if err != nil {
		return nil, line, err
	}
	return rec, line, nil
}

// saveFile is a capture log a live listener appends to. The records of this
// run are found in it by their sequence number with a binary search (they
// are in order), so nothing is kept in memory to find them.
type saveFile struct {
	f     *os.File
	start int64 // where this run's records begin
}

func openSaveFile(path string) (*saveFile, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		// The listener creates it; it starts empty.
		if f, err = os.OpenFile(path, os.O_CREATE|os.O_RDONLY, 0o600); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &saveFile{f: f, start: st.Size()}, nil
}

var errNotInLog = errors.New("the request is not in the capture log (it could not be written, or the log was moved)")

// find returns the offset and length of the line of record seq.
func (sf *saveFile) find(seq uint64) (int64, int64, error) {
	st, err := sf.f.Stat()
	if err != nil {
		return 0, 0, err
	}
	// The line, if there, starts in [lo, hi); lo is always a line start.
	lo, hi := sf.start, st.Size()
	for lo < hi {
		mid := lo + (hi-lo)/2
		start, end, s, ok, err := sf.lineFrom(mid, hi)
		if err != nil {
			return 0, 0, err
		}
		switch {
		case !ok || s > seq:
			hi = mid
		case s == seq:
			return start, end - start, nil
		default:
			lo = end + 1
		}
	}
	return 0, 0, errNotInLog
}

// lineFrom finds the first line that starts at or after from (and before
// hi) and returns where it starts and ends (at its newline) and its seq. ok
// is false when no whole record line starts there.
func (sf *saveFile) lineFrom(from, hi int64) (start, end int64, seq uint64, ok bool, err error) {
	pos := from
	if from > sf.start {
		pos = from - 1 // a line starts at from when the byte before ends one
	}
	br := bufio.NewReaderSize(io.NewSectionReader(sf.f, pos, 1<<62), 4096)
	if from > sf.start {
		n, err := skipLine(br)
		if err != nil {
			return 0, 0, 0, false, ignoreEOF(err)
		}
		pos += n
	}
	start = pos
	if start >= hi {
		return 0, 0, 0, false, nil
	}
	head, err := br.Peek(64)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return 0, 0, 0, false, err
	}
	seq, fast := seqOf(head)
	var line []byte
	if !fast {
		// Not the usual prefix: read the line and decode it.
		line, err = readLine(br)
	} else {
		_, err = skipLineN(br, &end)
		end += start
	}
	if err != nil {
		return 0, 0, 0, false, ignoreEOF(err) // a last line without its newline: being written
	}
	if !fast {
		rec, perr := capture.Parse(line)
		if perr != nil {
			return 0, 0, 0, false, nil
		}
		seq, end = rec.Seq, start+int64(len(line))
	} else {
		end-- // at the newline
	}
	return start, end, seq, true, nil
}

func ignoreEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// seqOf reads the seq from the start of a record line.
func seqOf(head []byte) (uint64, bool) {
	rest, known := capture.CutFormat(head)
	rest, ok := bytes.CutPrefix(rest, []byte(`,"seq":`))
	if !known || !ok {
		return 0, false
	}
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	if i == 0 || i == len(rest) || rest[i] != ',' {
		return 0, false
	}
	n, err := strconv.ParseUint(string(rest[:i]), 10, 64)
	return n, err == nil
}

// skipLine reads past the next newline and returns how many bytes it read.
func skipLine(br *bufio.Reader) (int64, error) {
	var n int64
	return skipLineN(br, &n)
}

func skipLineN(br *bufio.Reader, n *int64) (int64, error) {
	*n = 0
	for {
		chunk, err := br.ReadSlice('\n')
		*n += int64(len(chunk))
		if err == nil {
			return *n, nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return *n, err
		}
	}
}

// readLine reads one line (without its newline), up to maxLine bytes.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxLine {
			return nil, fmt.Errorf("a line longer than %d bytes", maxLine)
		}
		if err == nil {
			return line[:len(line)-1], nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return nil, err
		}
	}
}
