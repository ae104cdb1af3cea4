package capture

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestShortWriteIsUndone: a write that falls short (here: the file size
// limit of a child process, RLIMIT_FSIZE, which fails a write past it
// with EFBIG as a full disk fails it with ENOSPC) leaves the lines that
// ended before the limit whole, and nothing of the cut one: the next
// write, once there is room again, starts on a line of its own.
func TestShortWriteIsUndone(t *testing.T) {
	if os.Getenv("LIVECB_FSIZE_CHILD") != "" {
		shortWriteChild(t)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestShortWriteIsUndone$", "-test.v")
	cmd.Env = append(os.Environ(), "LIVECB_FSIZE_CHILD=1", "LIVECB_FSIZE_DIR="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "short write undone") {
		t.Fatalf("the child did not run the case:\n%s", out)
	}
	bodies := wholeRecords(t, filepath.Join(dir, "c.ndjson"))
	if got := strings.Join(bodies, ","); got != "a,b,c,later" {
		t.Errorf("records %s, want a,b,c (before the limit) then later", got)
	}
}

func shortWriteChild(t *testing.T) {
	path := filepath.Join(os.Getenv("LIVECB_FSIZE_DIR"), "c.ndjson")
	w, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	first := append(line(t, 1, "a"), line(t, 2, "b")...)
	if _, err := w.WriteLines(first); err != nil {
		t.Fatal(err)
	}
	second := append(line(t, 3, "c"), line(t, 4, strings.Repeat("d", 4000))...)
	var old syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old)
	limit := uint64(len(first)+len(line(t, 3, "c"))) + 100 // inside the fourth line
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: limit, Max: old.Max}); err != nil {
		t.Skipf("cannot limit the file size: %v", err)
	}
	n, err := w.WriteLines(second)
	if !errors.Is(err, syscall.EFBIG) || n != len(line(t, 3, "c")) {
		t.Fatalf("write past the limit: %d, %v; want %d (the whole third line) and EFBIG", n, err, len(line(t, 3, "c")))
	}
	data, _ := os.ReadFile(path)
	if !bytes.HasSuffix(data, []byte("\n")) || int64(len(data)) != int64(len(first)+n) {
		t.Fatalf("after the short write the file holds %d bytes ending %q, want %d ending in a newline",
			len(data), data[max(0, len(data)-20):], len(first)+n)
	}
	syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old) // room again
	if _, err := w.WriteLines(line(t, 5, "later")); err != nil {
		t.Fatal(err)
	}
	w.Close()
	fmt.Println("short write undone")
}
