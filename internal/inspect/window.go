package inspect

import (
	"sync/atomic"

	"github.com/livecb/livecb/internal/capture"
)

// window is a live index's memory of its newest records: each one as
// capture.Encode made it for the capture log (the line without its seq),
// copied into large byte segments. It holds no pointer per record, so that
// the collector neither marks nor scans the tens of thousands of records it
// keeps; a record is decoded again (capture.Parse) only when a page shows
// it.
//
// The writer (the index's one writer) appends records in id order and
// drops the oldest to stay within the bounds; readers find a record by the
// position its entry says, without a lock the writer waits for. A segment
// whose records are all dropped is written again for newer ones (a fresh
// one would cost zeroing and faulting in a megabyte of memory every few
// thousand requests), but only once no reader is copying from it: a reader
// counts itself in before it checks that the segment still holds what it
// looks for, and the writer marks the segment dropped before it checks
// that nobody is counted in (else it lets the segment go to the collector
// and takes a fresh one).
type window struct {
	budget  int64 // bytes the records held may take
	segSize int   // the size of a segment (a larger record gets its own)

	// Writer side. The records of ids first..next-1 are held; lens has
	// their lengths (by id % len(lens), so at most len(lens) are held),
	// which lie one after the other in the stream of records from
	// position firstPos on.
	lens     []int64
	first    int64
	next     int64
	firstPos int64
	bytes    int64      // the sum of their lengths
	segs     []*segment // the segments holding them, oldest first
	cur      *segment   // the one being written (the last of segs)
	spare    []*segment // dropped segments of segSize, to write again

	// Reader side.
	oldest atomic.Int64               // first, as readers see it
	tab    atomic.Pointer[[]*segment] // segs, as readers see them
}

// segment is a run of records' bytes. Positions in the stream of records
// are counted in the bytes records take: a segment starts where the
// previous one's last record ended.
type segment struct {
	// start is the stream position of buf[0]; -1 once dropped. Positions
	// only grow: a segment written again starts after every record it
	// held before.
	start   atomic.Int64
	readers atomic.Int32 // readers copying from it
	buf     []byte       // fixed; written below used only
	used    int          // writer side
}

// maxSpare is how many dropped segments are kept to be written again.
const maxSpare = 2

// newWindow holds up to records records of at most budget bytes in all
// (the newest one always, whatever its size).
func newWindow(budget int64, records int) *window {
	w := &window{budget: budget, lens: make([]int64, records)}
	// Segments of a 32nd of the budget: little is held beyond it (the
	// oldest segment's dropped records, the newest one's room, maxSpare
	// spares), and there are few segments to look a record up in.
	w.segSize = int(min(max(budget/32, 4<<10), 1<<20))
	w.tab.Store(&[]*segment{})
	return w
}

// hold keeps enc as the record of id, the next id (every id from 0 comes
// here in order; enc nil: id has no record to hold), and returns where it
// is in the stream of records, -1 when not held. It drops the oldest
// records until the bounds hold again, the newest always kept.
func (w *window) hold(id int64, enc []byte) int64 {
	for id-w.first >= int64(len(w.lens)) {
		w.release()
	}
	pos := int64(-1)
	if len(enc) > 0 {
		if w.cur == nil || len(enc) > len(w.cur.buf)-w.cur.used {
			w.grow(len(enc))
		}
		pos = w.cur.start.Load() + int64(w.cur.used)
		w.cur.used += copy(w.cur.buf[w.cur.used:], enc)
	}
	w.lens[id%int64(len(w.lens))] = int64(len(enc))
	w.bytes += int64(len(enc))
	w.next = id + 1
	for w.bytes > w.budget && w.first < id {
		w.release()
	}
	w.oldest.Store(w.first)
	w.trim()
	return pos
}

// grow starts a segment with room for at least n bytes.
func (w *window) grow(n int) {
	start := int64(0)
	if w.cur != nil {
		start = w.cur.start.Load() + int64(w.cur.used)
	}
	var s *segment
	for len(w.spare) > 0 && s == nil && n <= w.segSize {
		s = w.spare[len(w.spare)-1]
		w.spare = w.spare[:len(w.spare)-1]
		if s.readers.Load() != 0 {
			s = nil // (still read: the collector frees it once it is not)
		}
	}
	if s == nil {
		s = &segment{buf: make([]byte, max(n, w.segSize))}
	}
	s.start.Store(start)
	s.used = 0
	w.cur = s
	w.segs = append(w.segs, s)
	w.publish()
}

// release drops the oldest record held (readers see it at the next
// oldest.Store).
func (w *window) release() {
	n := w.lens[w.first%int64(len(w.lens))]
	w.firstPos += n
	w.bytes -= n
	w.first++
}

// releaseBefore drops the records of ids below id.
func (w *window) releaseBefore(id int64) {
	for w.first < id && w.first < w.next {
		w.release()
	}
	w.oldest.Store(w.first)
	w.trim()
}

// trim drops the segments that hold no record any more.
func (w *window) trim() {
	drop := 0
	for drop < len(w.segs)-1 && w.segs[drop].start.Load()+int64(w.segs[drop].used) <= w.firstPos {
		drop++
	}
	if drop == 0 {
		return
	}
	dropped := w.segs[:drop]
	w.segs = append(w.segs[:0:0], w.segs[drop:]...)
	w.publish()
	for _, s := range dropped {
		s.start.Store(-1) // (before grow looks at its readers)
		if len(s.buf) == w.segSize && len(w.spare) < maxSpare {
			w.spare = append(w.spare, s)
		}
	}
}

func (w *window) publish() {
	segs := append([]*segment(nil), w.segs...)
	w.tab.Store(&segs)
}

// appendHeld appends to dst the line of record seq (capture.AppendLine of
// what the window holds for it: entry id's record, n bytes at pos), and
// reports whether the window still held it.
func (w *window) appendHeld(dst []byte, id int64, seq uint64, pos, n int64) ([]byte, bool) {
	if pos < 0 || id < w.oldest.Load() {
		return dst, false
	}
	// The segment is the last one starting at or before pos: a later one
	// starts after the record's end. A table read since the entry was
	// published has it, or had (the writer may drop segments meanwhile,
	// and write them again further on). Segments are dropped oldest
	// first, their starts set to -1 in that order, and a start never
	// comes back below a position it held: so when the one found here
	// still starts where it did once the reader is counted in, it is the
	// record's, and nobody writes it while the reader is counted in.
	segs := *w.tab.Load()
	var s *segment
	for i := len(segs) - 1; i >= 0; i-- {
		if st := segs[i].start.Load(); st >= 0 && st <= pos {
			s = segs[i]
			break
		}
	}
	if s == nil {
		return dst, false
	}
	s.readers.Add(1)
	defer s.readers.Add(-1)
	st := s.start.Load()
	if st < 0 || pos < st || pos-st+n > int64(len(s.buf)) {
		return dst, false
	}
	if dst == nil {
		dst = make([]byte, 0, n+64)
	}
	return capture.AppendLine(dst, seq, s.buf[pos-st:pos-st+n]), true
}

// heldBytes is how many bytes the records held take.
func (w *window) heldBytes() int64 { return w.bytes }
