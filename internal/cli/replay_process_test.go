package cli

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/livecb/livecb/internal/testbin"
)

// TestReplayProcessReportsTheSameToAFileAndToAPipe runs the real binary:
// an unpaced replay of a capture file whose results go to a file (they are
// then reported by the connections that complete them, which also read
// the records) and one whose results go to a pipe (a goroutine of their
// own) send every callback once and print the same lines, in the
// capture's order, and the same summary.
func TestReplayProcessReportsTheSameToAFileAndToAPipe(t *testing.T) {
	bin := testbin.Livecb(t)
	const n = 600
	targets := make([]string, n)
	for i := range targets {
		targets[i] = fmt.Sprintf("/cb?n=%d", i)
	}
	path := oneCapture(t, targets...)
	var got atomic.Int64
	rv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) //nolint:errcheck // a test receiver
		got.Add(1)
		if strings.HasSuffix(r.URL.RawQuery, "7") {
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer rv.Close()
	args := []string{"replay", path, "--concurrency", "8", "--preserve-path", "--to", rv.URL}
	var lines [2][]string
	var summaries [2]string
	for i, toFile := range []bool{true, false} {
		got.Store(0)
		cmd := exec.Command(bin, args...)
		cmd.Env = testbin.Env()
		var stdout bytes.Buffer
		outPath, errPath := filepath.Join(t.TempDir(), "out"), filepath.Join(t.TempDir(), "err")
		errFile, err := os.Create(errPath)
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = errFile
		if toFile {
			f, err := os.Create(outPath)
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stdout = f
			err = cmd.Run()
			f.Close()
		} else {
			cmd.Stdout = &stdout // (a pipe)
			err = cmd.Run()
		}
		errFile.Close()
		out, _ := os.ReadFile(outPath)
		if !toFile {
			out = stdout.Bytes()
		}
		stderr, _ := os.ReadFile(errPath)
		// 60 of the 600 answered 404: the replay's verdict is 1.
		if code := cmd.ProcessState.ExitCode(); code != ExitCheckFailed {
			t.Fatalf("results to a file %v: exit %d (%v), want %d; stderr:\n%s", toFile, code, err, ExitCheckFailed, stderr)
		}
		if got.Load() != n {
			t.Errorf("results to a file %v: the receiver got %d callbacks, want %d", toFile, got.Load(), n)
		}
		for j, line := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
			// path:N  kind  status and verdict  latency  -> URL
			head, url, _ := strings.Cut(line, "  -> ")
			fields := strings.Fields(head)
			if len(fields) < 4 || fields[0] != fmt.Sprintf("%s:%d", path, j+1) || url != fmt.Sprintf("%s/cb?n=%d", rv.URL, j) {
				t.Fatalf("results to a file %v: line %d is %q", toFile, j+1, line)
			}
			lines[i] = append(lines[i], strings.Join(fields[:len(fields)-1], " ")+" -> "+url) // (not the latency)
		}
		summaries[i] = string(stderr)
	}
	if len(lines[0]) != n || len(lines[1]) != n {
		t.Fatalf("%d and %d lines, want %d each", len(lines[0]), len(lines[1]), n)
	}
	for j := range lines[0] {
		if lines[0][j] != lines[1][j] {
			t.Fatalf("line %d: to a file %q, to a pipe %q", j+1, lines[0][j], lines[1][j])
		}
	}
	for i, s := range summaries {
		if !strings.Contains(s, fmt.Sprintf("%d callbacks replayed", n)) || !strings.Contains(s, "540 answered 200") {
			t.Errorf("summary %d:\n%s", i, s)
		}
	}
}
