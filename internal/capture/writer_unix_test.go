//go:build unix

package capture

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestFilesThatTakeNoFsync: --save to a FIFO or a character device works
// with Sync set, and Close does not fail for the missing fsync.
func TestFilesThatTakeNoFsync(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no FIFO here: %v", err)
	}
	got := make(chan []byte, 1)
	go func() {
		b, _ := os.ReadFile(fifo) // (opening for reading lets Open go on)
		got <- b
	}()
	w, err := Open(fifo, Options{Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	group := append(line(t, 1, "a"), line(t, 2, "b")...)
	for i := 0; i < 3; i++ {
		if n, err := w.WriteLines(group); err != nil || n != len(group) {
			t.Fatalf("write %d to a FIFO: %d, %v", i, n, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Errorf("Close of a FIFO: %v", err)
	}
	if b := <-got; !bytes.Equal(b, bytes.Repeat(group, 3)) {
		t.Errorf("the reader got %d bytes, want %d", len(b), 3*len(group))
	}

	w, err = Open(os.DevNull, Options{Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteLines(group); err != nil {
		t.Errorf("write to %s: %v", os.DevNull, err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("Close of %s: %v", os.DevNull, err)
	}
}
