//go:build linux

package check

// The bounds of the readers, proved on the real binary: `livecb validate`
// and `livecb replay` fed hostile input (a 200 MB line, /dev/zero, a HAR
// entry with a 1 GB body), made on the fly into a pipe, must stay under
// maxRSS; and validate of many files must hold one descriptor at a time.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/testbin"
)

// maxRSS is the most resident memory a reader of hostile input may take.
const maxRSS = 128 << 20

func TestMain(m *testing.M) { testbin.Main(m) }

// result is what a finished livecb did.
type result struct {
	code   int
	stdout string
	stderr string
	rss    int64 // peak resident memory, bytes
}

// runLivecb runs livecb with args and stdin fed by feed (nil: no stdin).
func runLivecb(t *testing.T, feed func(io.Writer) error, args ...string) result {
	t.Helper()
	cmd := exec.Command(testbin.Livecb(t), args...)
	cmd.Env = testbin.Env()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	var feedErr chan error
	if feed != nil {
		in, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		feedErr = make(chan error, 1)
		defer func() {
			if err := <-feedErr; err != nil {
				t.Errorf("feeding stdin: %v", err)
			}
		}()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() {
			bw := bufio.NewWriterSize(in, 1<<20)
			err := feed(bw)
			if err == nil {
				err = bw.Flush()
			}
			in.Close()
			feedErr <- err
		}()
	} else if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String(),
		rss: cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10}
}

// repeat writes n bytes of c.
func repeat(w io.Writer, c byte, n int64) error {
	chunk := bytes.Repeat([]byte{c}, 1<<20)
	for n > 0 {
		m := min(n, int64(len(chunk)))
		if _, err := w.Write(chunk[:m]); err != nil {
			return err
		}
		n -= m
	}
	return nil
}

// A 200 MB line between two callbacks: refused, located, and the next one
// is read.
func TestBinaryLongLine(t *testing.T) {
	feed := func(w io.Writer) error {
		io.WriteString(w, good+"\n"+`{"streamName":"`)
		if err := repeat(w, 'x', 200<<20); err != nil {
			return err
		}
		_, err := io.WriteString(w, "\"}\n"+good+"\n")
		return err
	}
	r := runLivecb(t, feed, "validate", "-")
	want := fmt.Sprintf("stdin:1  publish_done      OK\n"+
		"stdin:2  -                 INVALID, 1 error\n"+
		"    error   (body)  record at byte %d is over the 16 MiB limit (16,842,752 bytes read); not checked: raise --max-record to read it [record_too_large]\n"+
		"stdin:3  publish_done      OK\n", len(good)+1)
	if r.code != 1 || r.stdout != want || r.stderr != "3 callbacks: 2 valid (0 with warnings), 1 invalid\n" {
		t.Errorf("validate: exit %d\nstdout %s\nwant   %s\nstderr %s", r.code, r.stdout, want, r.stderr)
	}
	if r.rss > maxRSS {
		t.Errorf("validate of a 200 MB line: peak RSS %d MB", r.rss>>20)
	}

	r = runLivecb(t, feed, "replay", "--dry-run", "-")
	if !strings.Contains(r.stdout, "stdin:1 ") || !strings.Contains(r.stdout, "stdin:3 ") || !strings.Contains(r.stderr, "over the 16 MiB limit") {
		t.Errorf("replay: exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	if r.rss > maxRSS {
		t.Errorf("replay of a 200 MB line: peak RSS %d MB", r.rss>>20)
	}
}

// A HAR entry with a 1 GB base64 body is one oversized entry; the entries
// after it are read.
func TestBinaryHARHugeBody(t *testing.T) {
	entry := func(text, encoding string) string {
		return `{"request": {"method": "POST", "url": "http://h/cb", "postData": {"mimeType": "application/json", ` +
			`"encoding": "` + encoding + `", "text": "` + text
	}
	const head = "{\n\"log\": {\n\"entries\": [\n"
	feed := func(w io.Writer) error {
		io.WriteString(w, head+entry("", "base64"))
		if err := repeat(w, 'A', 1<<30); err != nil {
			return err
		}
		_, err := io.WriteString(w, "\"}}},\n"+entry(strings.ReplaceAll(good, `"`, `\"`), "")+"\"}}}\n]}}\n")
		return err
	}
	r := runLivecb(t, feed, "validate", "-")
	wantStart := fmt.Sprintf("stdin:4  -                 INVALID, 1 error\n"+
		"    error   (body)  HAR entry /log/entries/0 at byte %d is over the 16 MiB limit (", len(head))
	if r.code != 1 || !strings.HasPrefix(r.stdout, wantStart) || !strings.HasSuffix(r.stdout, "raise --max-record to read it [record_too_large]\nstdin:5  publish_done      OK\n") ||
		r.stderr != "2 callbacks: 1 valid (0 with warnings), 1 invalid\n" {
		t.Errorf("validate: exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	if r.rss > maxRSS {
		t.Errorf("validate of a HAR with a 1 GB body: peak RSS %d MB", r.rss>>20)
	}

	r = runLivecb(t, feed, "replay", "--dry-run", "-")
	if !strings.Contains(r.stdout, "stdin:5 ") || !strings.Contains(r.stderr, "HAR entry /log/entries/0") {
		t.Errorf("replay: exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	if r.rss > maxRSS {
		t.Errorf("replay of a HAR with a 1 GB body: peak RSS %d MB", r.rss>>20)
	}
}

// /dev/zero has no newline: validate and replay report the first record as
// too large at once, then read on for ever in bounded memory. The test
// stops them once they have read 1 GB.
func TestBinaryDevZero(t *testing.T) {
	for _, args := range [][]string{{"validate", "/dev/zero"}, {"replay", "--dry-run", "/dev/zero"}} {
		t.Run(args[0], func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			f, err := os.Create(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			cmd := exec.Command(testbin.Livecb(t), args...)
			cmd.Env = testbin.Env()
			cmd.Stdout, cmd.Stderr = f, f
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Wait()
			defer cmd.Process.Kill()
			pid := cmd.Process.Pid
			deadline := time.Now().Add(120 * time.Second)
			for {
				printed, _ := os.ReadFile(out)
				read := procField(t, pid, "io", "rchar:")
				if bytes.Contains(printed, []byte("over the 16 MiB limit")) && read > 1<<30 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("after 120 s: %d bytes read, printed %q", read, printed)
				}
				time.Sleep(100 * time.Millisecond)
			}
			if hwm := procField(t, pid, "status", "VmHWM:") << 10; hwm > maxRSS {
				t.Errorf("peak RSS %d MB after reading 1 GB of /dev/zero", hwm>>20)
			}
		})
	}
}

// procField reads a number from /proc/PID/FILE on the line that starts with
// name.
func procField(t *testing.T, pid int, file, name string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, file))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, name); ok {
			n, err := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/%s", name, pid, file)
	return 0
}

// 400 files under a limit of 64 open files: each is closed before the next
// is opened.
func TestBinaryManyFilesUnderLowFDLimit(t *testing.T) {
	bin := testbin.Livecb(t)
	dir := t.TempDir()
	var files []string
	for i := range 400 {
		path := filepath.Join(dir, fmt.Sprintf("%03d.json", i))
		if err := os.WriteFile(path, []byte(good), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, path)
	}
	// sh sets both limits, so that the Go runtime cannot raise the soft
	// one again; the first command proves the limit holds.
	script := `ulimit -n 64 || exit 99; ulimit -Hn; exec "$@"`
	cmd := exec.Command("sh", append([]string{"-c", script, "sh", bin, "validate", "-q"}, files...)...)
	cmd.Env = testbin.Env()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil || stdout.String() != "64\n" || stderr.String() != "400 callbacks: 400 valid (0 with warnings), 0 invalid\n" {
		t.Errorf("%v\nstdout %s\nstderr %s", err, stdout.String(), stderr.String())
	}
}
