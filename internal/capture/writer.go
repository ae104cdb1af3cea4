package capture

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Writer appends records to a capture log, each group of them with one
// write(2) of whole lines. Whatever happens to the disk or to the file, the
// log never holds a cut record with another one after it, and a record is
// either in the file at the path or its write fails:
//
//   - a write that failed or fell short (a full disk) is undone back to its
//     last whole line before anything else is appended; if the file cannot
//     be cut, the fragment is ended with a newline, so that the next record
//     starts on a line of its own;
//   - a log whose last line a crash cut is repaired the same way when it is
//     opened (Notice Repaired);
//   - the path is checked before writing (at most every 100 ms): a file
//     moved away (log rotation) keeps the records until Reopen; a file
//     deleted is created anew at the path; a file deleted with its
//     directory makes every write fail (no directory is ever created).
type Writer struct {
	mu     sync.Mutex
	path   string
	sync   bool
	notify func(Notice)
	seq    uint64
	closed bool

	f        *os.File
	info     os.FileInfo // of f, for os.SameFile
	regular  bool        // a regular file: can be cut back, and its path checked
	syncable bool        // fsync works on it (not a FIFO, a terminal or /dev/null)
	// pending is set when a failed write left a cut line that could be
	// neither removed nor ended yet: write does it before anything else.
	// cutAt is where the line begins (-1: not known).
	pending bool
	cutAt   int64
	where   NoticeKind // what the last check found at the path: 0, Moved or Replaced
	lost    *LostError // set while the file is gone with its directory
	// The path is checked at most once per every: a stat per write would
	// cost about as much as the write.
	checked time.Time
	every   time.Duration
}

// Options configure a Writer.
type Options struct {
	// Sync fsyncs after each write: durable across power loss, slower;
	// without, records survive a crash of livecb but not of the machine.
	// A file that cannot be fsynced (a FIFO, a terminal) is written without.
	Sync bool
	// Notify, when set, is told what the writer repaired or saw happen to
	// its file, once each time. It is called with the writer locked (and,
	// in a listener, while a group of requests waits): it must be quick
	// and must not call the writer.
	Notify func(Notice)
}

// NoticeKind says what a Notice is about.
type NoticeKind int

const (
	// Repaired: the file's last line was cut (by a crash, or by a write
	// that failed and could not be undone at once). It was removed, or,
	// when the file could not be cut, ended with a newline.
	Repaired NoticeKind = iota + 1
	// Moved: the path names no file any more, but the file still exists
	// under another name (log rotation): records go on into it until
	// Reopen.
	Moved
	// Replaced: the path names another file: records go on into the old
	// one until Reopen.
	Replaced
	// Recreated: the file was deleted; a new one was created at the path
	// and records go there.
	Recreated
	// Lost: the file was deleted along with its directory. Every write
	// fails (LostError) until the directory exists again.
	Lost
)

// Notice is something the Writer did to its file, or saw happen to it.
type Notice struct {
	Kind NoticeKind
	Path string
	// Repaired: where the cut line began, how long it was, its first bytes
	// (at most 64), whether it was found when the file was opened (else it
	// was left by a failed write) and whether it was removed (else it was
	// ended with a newline: Err says why it could not be removed).
	Offset  int64
	Bytes   int64
	Excerpt []byte
	AtOpen  bool
	Removed bool
	Err     error
}

func (n Notice) String() string {
	switch n.Kind {
	case Repaired:
		why := "a write failed"
		if n.AtOpen {
			why = "livecb or the machine stopped while writing it"
		}
		done := "removed it: the log ends with its last whole record"
		if !n.Removed {
			done = fmt.Sprintf("could not remove it (%v), ended it with a newline: readers will skip that line", n.Err)
		}
		what := "a record was cut short"
		if n.Offset >= 0 {
			what = fmt.Sprintf("the record at byte %d was cut short", n.Offset)
		}
		if n.Bytes >= 0 {
			what += fmt.Sprintf(" (%d bytes%s)", n.Bytes, excerpt(n.Excerpt, n.Bytes))
		}
		return fmt.Sprintf("%s: %s: %s; %s", n.Path, what, why, done)
	case Moved:
		return fmt.Sprintf("%s was moved or renamed: records go on into the moved file until the log is reopened", n.Path)
	case Replaced:
		return fmt.Sprintf("%s is another file now: records go on into the old file until the log is reopened", n.Path)
	case Recreated:
		return fmt.Sprintf("%s was deleted: created it anew; the records written before are gone with the old file", n.Path)
	case Lost:
		return fmt.Sprintf("%s was deleted with its directory: no record can be saved until the directory exists again (%v)", n.Path, n.Err)
	}
	return fmt.Sprintf("%s: notice %d", n.Path, n.Kind)
}

// excerpt shows the first bytes of a cut line of size bytes, escaped.
func excerpt(b []byte, size int64) string {
	if len(b) == 0 {
		return ""
	}
	s := ", starting " + strconv.Quote(string(b))
	if int64(len(b)) < size {
		s += "..."
	}
	return s
}

// LostError is what writes return while the file is gone with its
// directory.
type LostError struct {
	Path string
	Err  error // why the file could not be created again
}

func (e *LostError) Error() string {
	return fmt.Sprintf("%s was deleted with its directory (%v)", e.Path, e.Err)
}

func (e *LostError) Unwrap() error { return e.Err }

// pathCheckEvery is how often a Writer checks that its path still names
// its file: records written meanwhile may go to a file moved or deleted.
const pathCheckEvery = 100 * time.Millisecond

// Open opens path for appending, creating the file (never its directory)
// if needed. A last line without its newline is repaired first (Notice
// Repaired).
func Open(path string, opts Options) (*Writer, error) {
	w := &Writer{path: path, sync: opts.Sync, notify: opts.Notify, every: pathCheckEvery}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

// Create is Open with only Sync set.
func Create(path string, syncEach bool) (*Writer, error) {
	return Open(path, Options{Sync: syncEach})
}

// open opens the path and makes it the writer's file.
func (w *Writer) open() error {
	flag := os.O_CREATE | os.O_WRONLY | os.O_APPEND
	if fi, err := os.Stat(w.path); err != nil || fi.Mode().IsRegular() {
		// Readable too, to find where a cut last line begins. (Not for a
		// FIFO: opened for reading too, it would never see its reader go.)
		flag = os.O_CREATE | os.O_RDWR | os.O_APPEND
	}
	f, err := os.OpenFile(w.path, flag, 0o600)
	if err != nil {
		return err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	if w.f != nil {
		w.closeFile()
	}
	w.f, w.info, w.pending, w.where, w.lost = f, info, false, 0, nil
	w.regular = info.Mode().IsRegular()
	// Decided once: a file that takes no fsync is not asked again.
	w.syncable = !notSyncable(f.Sync())
	if w.regular && info.Size() > 0 {
		w.repairTail(info.Size())
	}
	return nil
}

// notSyncable reports whether an fsync error means the file cannot be
// synced at all (a FIFO, a character device), rather than that it failed.
func notSyncable(err error) bool {
	return err != nil && (errors.Is(err, syscall.EINVAL) || errors.Is(err, errors.ErrUnsupported))
}

// repairTail cuts a last line that has no newline (a crash cut it).
func (w *Writer) repairTail(size int64) {
	var last [1]byte
	if _, err := w.f.ReadAt(last[:], size-1); err != nil || last[0] == '\n' {
		return
	}
	// The line begins after the last newline before it.
	start := int64(0)
	buf := make([]byte, 64<<10)
	for pos := size; pos > 0; {
		n := min(int64(len(buf)), pos)
		if _, err := w.f.ReadAt(buf[:n], pos-n); err != nil {
			return // unreadable: left as it is
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			start = pos - n + int64(i) + 1
			break
		}
		pos -= n
	}
	head := make([]byte, min(size-start, 64))
	w.f.ReadAt(head, start)
	n := Notice{Kind: Repaired, Path: w.path, Offset: start, Bytes: size - start, Excerpt: head, AtOpen: true}
	var err error
	if n.Removed, n.Err, err = w.undo(start); err == nil {
		w.tell(n)
	}
	// (else the next write repairs it first, or fails)
}

// cutBack takes the last k bytes written (a cut line) off the file.
func (w *Writer) cutBack(k int) {
	at := int64(-1)
	if w.regular {
		if pos, err := w.f.Seek(0, io.SeekCurrent); err == nil {
			at = pos - int64(k)
		}
	}
	removed, cutErr, err := w.undo(at)
	if err == nil && !removed {
		w.tell(Notice{Kind: Repaired, Path: w.path, Offset: at, Bytes: int64(k), Err: cutErr})
	}
}

// undo removes what the file holds from offset at on (a cut line; -1 when
// the offset is not known), or, when the file cannot be cut, ends it with
// a newline: removed says which, and cutErr why it could not be cut. When
// neither works, err says why, and the repair is pending: write tries it
// again before anything else.
func (w *Writer) undo(at int64) (removed bool, cutErr, err error) {
	cutErr = errors.New("not a regular file")
	if at >= 0 {
		if cutErr = w.f.Truncate(at); cutErr == nil {
			w.pending = false
			return true, nil, nil
		}
	}
	if _, err := w.f.Write([]byte{'\n'}); err != nil {
		w.pending, w.cutAt = true, at
		return false, cutErr, fmt.Errorf("%s: a record was cut and could neither be removed (%v) nor ended with a newline (%v)", w.path, cutErr, err)
	}
	w.pending = false
	return false, cutErr, nil
}

func (w *Writer) tell(n Notice) {
	if w.notify != nil {
		w.notify(n)
	}
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
	_, err = w.write(AppendLine(nil, r.Seq, enc))
	return err
}

// WriteLines appends whole lines (records made by AppendLine) with a single
// write(2), then fsyncs once when the Writer syncs each record: a writer
// serving many requests at once commits them as a group. It returns how
// many bytes reached the file: on an error, the lines that ended within
// them are whole in the file, and nothing after them is (a cut line was
// undone). The caller numbers the records; Write's own numbering is not
// used.
func (w *Writer) WriteLines(lines []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.write(lines)
}

func (w *Writer) write(lines []byte) (int, error) {
	if w.closed {
		return 0, fmt.Errorf("write %s: %w", w.path, os.ErrClosed)
	}
	if w.regular {
		if now := time.Now(); now.Sub(w.checked) >= w.every {
			w.checked = now
			if err := w.checkPath(); err != nil {
				return 0, err
			}
		} else if w.lost != nil {
			return 0, w.lost
		}
	}
	if w.pending {
		removed, cutErr, err := w.undo(w.cutAt)
		if err != nil {
			return 0, err
		}
		if !removed {
			w.tell(Notice{Kind: Repaired, Path: w.path, Offset: w.cutAt, Bytes: -1, Err: cutErr})
		}
	}
	n, err := w.f.Write(lines)
	if err == nil && w.sync && w.syncable {
		if err = w.f.Sync(); err != nil {
			// Not durable, so not saved: the group is taken out again, so
			// that the senders' retries do not find it twice.
			w.cutBack(len(lines))
			return 0, err
		}
	}
	if err == nil {
		return n, nil
	}
	whole := bytes.LastIndexByte(lines[:n], '\n') + 1
	if whole < n {
		// A cut line: off the file before anything else is appended.
		w.cutBack(n - whole)
	}
	return whole, err
}

// checkPath makes sure the records go to the file at the path, or to the
// file it was moved to (log rotation, until Reopen). It fails when the
// file was deleted and cannot be created again.
func (w *Writer) checkPath() error {
	fi, err := os.Stat(w.path)
	if err == nil && os.SameFile(fi, w.info) {
		w.where = 0
		return nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil // (cannot tell, e.g. no permission on a directory: go on)
	}
	if deleted(w.f) {
		// Writing on would answer for records nobody can ever read.
		return w.recreate()
	}
	state := Replaced
	if err != nil {
		state = Moved
	}
	if w.where != state {
		w.where = state
		w.tell(Notice{Kind: state, Path: w.path})
	}
	return nil
}

// recreate replaces a deleted file with a new one at the path.
func (w *Writer) recreate() error {
	if err := w.open(); err != nil {
		if w.lost == nil {
			w.lost = &LostError{Path: w.path, Err: err}
			w.tell(Notice{Kind: Lost, Path: w.path, Err: err})
		}
		return w.lost
	}
	w.tell(Notice{Kind: Recreated, Path: w.path})
	return nil
}

// Reopen closes the file and opens the path anew, creating the file if it
// is gone: the log-rotation convention (the file is moved away, then the
// writer told to reopen). Records written before stay whole in the old
// file: a write under way ends before the switch. On an error the old
// file stays in use.
func (w *Writer) Reopen() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return fmt.Errorf("reopen %s: %w", w.path, os.ErrClosed)
	}
	return w.open()
}

// Path is the path the writer appends to.
func (w *Writer) Path() string { return w.path }

// closeFile flushes the current file to disk (when it takes fsync) and
// closes it.
func (w *Writer) closeFile() error {
	var err error
	if w.syncable {
		err = w.f.Sync()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Close flushes the file to disk and closes it.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return fmt.Errorf("close %s: %w", w.path, os.ErrClosed)
	}
	w.closed = true
	return w.closeFile()
}
