package cli

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// stdoutFlushEvery bounds how long a printed line may wait in the stdout
// buffer of listen and replay when stdout is not a terminal.
const stdoutFlushEvery = 50 * time.Millisecond

// timedBuffer buffers writes and flushes them at most `every` after the
// first byte that is not yet out, when the buffer fills, on Flush and on
// Close: a burst of requests (or replayed callbacks) costs one write(2) per
// buffer instead of one per line, and a quiet listener's last lines still
// come out at once (a program reading the pipe sees them within `every`).
// Writes are whole lines, so a flush never cuts one printed line into
// another's.
type timedBuffer struct {
	mu     sync.Mutex
	w      *bufio.Writer
	every  time.Duration
	timer  *time.Timer
	armed  bool
	closed bool
}

func newTimedBuffer(w io.Writer, every time.Duration) *timedBuffer {
	b := &timedBuffer{w: bufio.NewWriterSize(w, 64<<10), every: every}
	b.timer = time.AfterFunc(time.Hour, b.tick)
	b.timer.Stop()
	return b
}

func (b *timedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.w.Write(p)
	if b.closed {
		if err == nil {
			err = b.w.Flush()
		}
		return n, err
	}
	if !b.armed && b.w.Buffered() > 0 {
		b.armed = true
		b.timer.Reset(b.every)
	}
	return n, err
}

func (b *timedBuffer) tick() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.armed = false
	b.w.Flush()
}

// Flush writes out what is buffered.
func (b *timedBuffer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Flush()
}

// Close flushes and stops the timer; later writes go out at once.
func (b *timedBuffer) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.timer.Stop()
	b.closed = true
	return b.w.Flush()
}
