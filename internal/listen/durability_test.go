package listen

// Crash durability, against the real binary: kill -9 and SIGTERM in the
// middle of a burst of callbacks from several senders. What was answered
// must be in the capture log, and the log must stay readable.

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/capture"
	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/testbin"
)

// livecbBinary builds cmd/livecb once for the whole test binary.
func livecbBinary(t *testing.T) string { return testbin.Livecb(t) }

func TestMain(m *testing.M) { testbin.Main(m) }

// process is a `livecb listen` running as its own process.
type process struct {
	cmd    *exec.Cmd
	url    string
	save   string
	stderr syncBuffer
}

func startProcess(t *testing.T, args ...string) *process {
	t.Helper()
	return startProcessWith(t, procOptions{}, args...)
}

// procOptions change how startProcessWith runs listen.
type procOptions struct {
	save   string // the capture log (default: one in a temporary directory; "-": none)
	nofile int    // the limit of open files (ulimit -n), when not 0
}

func startProcessWith(t *testing.T, o procOptions, args ...string) *process {
	t.Helper()
	bin := livecbBinary(t)
	dir := t.TempDir()
	p := &process{save: filepath.Join(dir, "capture.ndjson")}
	if o.save != "" {
		p.save = o.save
	}
	ready := filepath.Join(dir, "url")
	stdout, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdout.Close() })
	all := []string{"listen", "--port", "0", "--ready-file", ready}
	if p.save != "-" {
		all = append(all, "--save", p.save)
	}
	all = append(all, args...)
	p.cmd = exec.Command(bin, all...)
	if o.nofile > 0 {
		// (exec keeps the process: its pid is listen's)
		p.cmd = exec.Command("sh", append([]string{"-c", fmt.Sprintf(`ulimit -n %d && exec "$0" "$@"`, o.nofile), bin}, all...)...)
	}
	p.cmd.Env = testbin.Env()
	p.cmd.Stdout, p.cmd.Stderr = stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill() })
	for i := 0; i < 1000 && p.url == ""; i++ {
		if b, err := os.ReadFile(ready); err == nil {
			p.url = strings.TrimSpace(string(b))
		} else {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if p.url == "" {
		t.Fatalf("listen never got ready: %s", p.stderr.String())
	}
	return p
}

// burst posts callbacks with distinct stream names from several senders
// until one fails (the listener is gone) or each sent max. It records the
// bodies that were answered 200.
type burst struct {
	answered atomic.Int64
	mu       sync.Mutex
	ok       [][]byte
	wg       sync.WaitGroup
}

func startBurst(t *testing.T, url string, senders, max int) *burst {
	t.Helper()
	base, err := event.Sample(event.PublishDone, event.NewStream(time.Now(), nil))
	if err != nil {
		t.Fatal(err)
	}
	b := &burst{}
	for s := 0; s < senders; s++ {
		b.wg.Add(1)
		go func(s int) {
			defer b.wg.Done()
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
			for i := 0; i < max; i++ {
				body, err := event.Set(base, "streamName", event.StringValue(fmt.Sprintf("sender%d-%d", s, i)))
				if err != nil {
					t.Error(err)
					return
				}
				resp, err := client.Post(url+"/cb", "application/json", bytes.NewReader(body))
				if err != nil {
					return // the listener is gone
				}
				resp.Body.Close()
				if resp.StatusCode == 200 {
					b.mu.Lock()
					b.ok = append(b.ok, body)
					b.mu.Unlock()
					b.answered.Add(1)
				}
			}
		}(s)
	}
	return b
}

// waitFor waits until n callbacks were answered.
func (b *burst) waitFor(t *testing.T, n int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for b.answered.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d callbacks answered in 30s", b.answered.Load())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// readLog splits a capture log into its records; a last line without its
// newline is returned apart, as cut.
func readLog(t *testing.T, path string) (recs []*capture.Record, cut []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(data, []byte("\n"))
	cut = lines[len(lines)-1] // empty when the file ends with a newline
	for i, line := range lines[:len(lines)-1] {
		r, err := capture.Parse(line)
		if err != nil {
			t.Fatalf("record %d of %d is not whole: %v\n%q", i+1, len(lines)-1, err, line)
		}
		recs = append(recs, r)
	}
	return recs, cut
}

// checkAnswered fails for each answered callback missing from the log.
func checkAnswered(t *testing.T, b *burst, recs []*capture.Record) {
	t.Helper()
	have := make(map[string]bool, len(recs))
	for _, r := range recs {
		have[r.Body] = true
	}
	missing := 0
	for _, body := range b.ok {
		if !have[string(body)] {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d answered callbacks are not in the capture log", missing, len(b.ok))
	}
	if len(recs) < len(b.ok) {
		t.Errorf("%d records for %d answered callbacks", len(recs), len(b.ok))
	}
}

// TestKill9DuringBurst: the listener is killed with SIGKILL while four
// senders post as fast as they can. Every record but a cut last line is
// whole, and every callback that was answered 200 is in the log. A log
// whose last line is cut is read by validate and replay with a warning.
func TestKill9DuringBurst(t *testing.T) {
	p := startProcess(t)
	b := startBurst(t, p.url, 4, 2500)
	b.waitFor(t, 1500)
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	b.wg.Wait()
	p.cmd.Wait()
	recs, cut := readLog(t, p.save)
	t.Logf("killed after %d answers; %d records, cut tail %d bytes", len(b.ok), len(recs), len(cut))
	if len(b.ok) >= 4*2500 {
		t.Fatal("the burst ended before the kill: nothing was proven")
	}
	checkAnswered(t, b, recs)
	for i, r := range recs {
		if r.Seq != uint64(i+1) {
			t.Fatalf("record %d has seq %d: records lost or reordered", i+1, r.Seq)
		}
	}

	// A crash in the middle of a write leaves the last line cut: make one.
	data, _ := os.ReadFile(p.save)
	data = bytes.TrimSuffix(data, cut)
	lastStart := bytes.LastIndexByte(data[:len(data)-1], '\n') + 1
	cutLog := filepath.Join(t.TempDir(), "cut.ndjson")
	cutAt := lastStart + (len(data)-lastStart)/2
	if err := os.WriteFile(cutLog, data[:cutAt], 0o600); err != nil {
		t.Fatal(err)
	}
	whole := bytes.Count(data[:cutAt], []byte("\n"))

	bin := livecbBinary(t)
	out, code := run(t, bin, "validate", "-q", cutLog)
	if code != 0 {
		t.Errorf("validate of a log with a cut last line: exit %d\n%s", code, out)
	}
	if !strings.Contains(out, fmt.Sprintf("cut.ndjson:%d", whole+1)) || !strings.Contains(out, "cut short") ||
		!strings.Contains(out, fmt.Sprintf("%d callbacks: %d valid", whole, whole)) {
		t.Errorf("validate does not skip the cut line %d with a warning after %d valid records:\n%s", whole+1, whole, lastLines(out, 6))
	}
	out, code = run(t, bin, "replay", "--dry-run", "--to", "http://127.0.0.1:9/cb", cutLog)
	if code != 0 {
		t.Errorf("replay --dry-run of a log with a cut last line: exit %d\n%s", code, lastLines(out, 6))
	}
	if !strings.Contains(out, fmt.Sprintf("cut.ndjson:%d: the last record is cut short", whole+1)) ||
		!strings.Contains(out, fmt.Sprintf("%d callbacks would be sent (dry run), 1 truncated line skipped", whole)) {
		t.Errorf("replay --dry-run does not skip the cut line with a warning:\n%s", lastLines(out, 6))
	}
}

var summaryRE = regexp.MustCompile(`stopped \(interrupted\)\. (\d+) callbacks?: (\d+) valid`)

// TestSIGTERMDuringBurst: SIGTERM while four senders post. The listener
// finishes what is in flight, every answered callback is in the log, the
// log ends with a whole line, and the summary counts what the log holds.
func TestSIGTERMDuringBurst(t *testing.T) {
	p := startProcess(t)
	b := startBurst(t, p.url, 4, 2500)
	b.waitFor(t, 1000)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	b.wg.Wait()
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, p.stderr.String())
	}
	recs, cut := readLog(t, p.save)
	if len(cut) != 0 {
		t.Errorf("the log ends with a cut line after a clean stop: %q", cut)
	}
	if len(b.ok) >= 4*2500 {
		t.Fatal("the burst ended before SIGTERM: nothing was proven")
	}
	checkAnswered(t, b, recs)
	m := summaryRE.FindStringSubmatch(p.stderr.String())
	if m == nil {
		t.Fatalf("no summary:\n%s", lastLines(p.stderr.String(), 5))
	}
	callbacks, _ := strconv.Atoi(m[1])
	valid, _ := strconv.Atoi(m[2])
	t.Logf("stopped after %d answers; summary %d callbacks, log %d records", len(b.ok), callbacks, len(recs))
	if callbacks != len(recs) || valid != len(recs) {
		t.Errorf("summary says %d callbacks (%d valid), the log holds %d records", callbacks, valid, len(recs))
	}
}

func run(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = testbin.Env()
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// syncBuffer is a bytes.Buffer a process writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
