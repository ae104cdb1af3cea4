package capture

import (
	"os"
	"sync"
)

// Writer appends records to a file. Each record is written with a single
// write(2) of one whole line, so a crash leaves at most the last line cut.
type Writer struct {
	mu   sync.Mutex
	f    *os.File
	seq  uint64
	sync bool
}

// Create opens path for appending, creating it if needed. With syncEach,
// every record is fsynced before Write returns (durable across power loss,
// slower); without, records survive a crash of livecb but not of the machine.
func Create(path string, syncEach bool) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	return &Writer{f: f, sync: syncEach}, nil
}

// Write assigns the record its sequence number and format and appends it.
func (w *Writer) Write(r *Record) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seq++
	r.Seq = w.seq
	r.Format = Format
	enc, err := Encode(r, nil)
	if err != nil {
		return err
	}
	if _, err := w.f.Write(AppendLine(nil, r.Seq, enc)); err != nil {
		return err
	}
	if w.sync {
		return w.f.Sync()
	}
	return nil
}

// WriteLines appends whole lines (records made by AppendLine) with a single
// write(2), then fsyncs once when the Writer syncs each record: a writer
// serving many requests at once commits them as a group. It returns how
// many bytes reached the file: on an error, the lines that ended within
// them were written whole. The caller numbers the records; Write's own
// numbering is not used.
func (w *Writer) WriteLines(lines []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.f.Write(lines)
	if err != nil {
		return n, err
	}
	if w.sync {
		if err := w.f.Sync(); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// Close flushes the file to disk and closes it.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.f.Sync(); err != nil {
		w.f.Close()
		return err
	}
	return w.f.Close()
}
