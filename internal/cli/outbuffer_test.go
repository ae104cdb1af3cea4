package cli

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe to read while the timer flushes.
type lockedBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes++
	return l.b.Write(p)
}

func (l *lockedBuffer) state() (string, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String(), l.writes
}

func TestTimedBufferFlushesOnTimerFlushAndClose(t *testing.T) {
	var dst lockedBuffer
	b := newTimedBuffer(&dst, 20*time.Millisecond)
	for i := 0; i < 100; i++ {
		b.Write([]byte("a request line\n"))
	}
	if s, _ := dst.state(); s != "" {
		t.Fatalf("written at once: %q", s)
	}
	// A quiet listener's lines come out on the timer.
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, writes := dst.state()
		if strings.Count(s, "\n") == 100 {
			if writes != 1 {
				t.Errorf("100 lines took %d writes, want 1", writes)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not flushed by the timer: %q", s)
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.Write([]byte("x\n"))
	b.Flush()
	if s, _ := dst.state(); !strings.HasSuffix(s, "line\nx\n") {
		t.Errorf("Flush did not write out: %q", s)
	}
	b.Write([]byte("y\n"))
	b.Close()
	b.Write([]byte("z\n"))
	if s, _ := dst.state(); !strings.HasSuffix(s, "x\ny\nz\n") {
		t.Errorf("Close, or a write after it, did not write out: %q", s)
	}
}
