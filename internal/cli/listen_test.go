package cli

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/capture"
	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/listen"
	"github.com/livecb/livecb/internal/testbin"
)

// listenRunning is a `livecb listen` started in-process by startListen.
type listenRunning struct {
	URL  string
	done chan struct{}
	code int
	out  bytes.Buffer
	err  bytes.Buffer
}

// wait returns the exit code, stdout and stderr once the listener stopped.
func (l *listenRunning) wait(t *testing.T) (int, string, string) {
	t.Helper()
	select {
	case <-l.done:
	case <-time.After(30 * time.Second):
		t.Fatal("listen did not stop")
	}
	return l.code, l.out.String(), l.err.String()
}

func noEnv(string) string { return "" }

// startListen runs `livecb listen --port 0 --ready-file F args...` and
// waits for the ready file.
func startListen(t *testing.T, args ...string) *listenRunning {
	t.Helper()
	ready := filepath.Join(t.TempDir(), "url")
	l := &listenRunning{done: make(chan struct{})}
	all := append([]string{"listen", "--port", "0", "--ready-file", ready}, args...)
	go func() {
		defer close(l.done)
		l.code = Main(all, Streams{In: strings.NewReader(""), Out: &l.out, Err: &l.err, Getenv: noEnv}, BuildInfo{Version: "test"})
	}()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(ready); err == nil {
			l.URL = strings.TrimSpace(string(b))
			return l
		}
		select {
		case <-l.done:
			t.Fatalf("listen exited %d before ready: %s", l.code, l.err.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatal("no ready file")
	return nil
}

func postBody(t *testing.T, url string, body []byte) int {
	t.Helper()
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func sampleBody(t *testing.T, k event.Kind) []byte {
	t.Helper()
	b, err := event.Sample(k, event.NewStream(time.Now(), nil))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestListenCountStopsAndPasses(t *testing.T) {
	save := filepath.Join(t.TempDir(), "cap.ndjson")
	l := startListen(t, "--count", "2", "--save", save)
	if !strings.HasPrefix(l.URL, "http://127.0.0.1:") {
		t.Fatalf("URL %q", l.URL)
	}
	postBody(t, l.URL+"/a", sampleBody(t, event.PublishStarted))
	postBody(t, l.URL+"/b", sampleBody(t, event.RecordDone))
	code, out, errOut := l.wait(t)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("stdout:\n%s", out)
	}
	for i, want := range []string{"POST /a", "POST /b"} {
		if !strings.Contains(lines[i], want) || !strings.HasSuffix(lines[i], "OK  → 200") {
			t.Errorf("line %d: %q", i+1, lines[i])
		}
	}
	if !strings.Contains(lines[0], "publish_started") || !strings.Contains(lines[0], "push.yourdomain.com/live/livecb-") {
		t.Errorf("line 1 lacks kind or identity: %q", lines[0])
	}
	if !strings.Contains(lines[1], "record_done") || !strings.Contains(lines[1], "duration=") || !strings.Contains(lines[1], "fileSize=") {
		t.Errorf("line 2 lacks the record's key fields: %q", lines[1])
	}
	for _, want := range []string{"ready: listening on " + l.URL, "stopped (--count 2 reached). 2 callbacks: 2 valid", "publish_started 1, record_done 1", "PASS every expectation held"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if n := countLines(t, save); n != 2 {
		t.Errorf("capture has %d records", n)
	}
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		if _, err := capture.Parse(sc.Bytes()); err != nil {
			t.Fatalf("record %d: %v", n+1, err)
		}
		n++
	}
	return n
}

func TestListenDurationFailsWhenCountNotReached(t *testing.T) {
	l := startListen(t, "--count", "3", "--duration", "300ms")
	postBody(t, l.URL, sampleBody(t, event.Snapshot))
	code, _, errOut := l.wait(t)
	if code != ExitCheckFailed {
		t.Fatalf("exit %d, want 1\n%s", code, errOut)
	}
	if !strings.Contains(errOut, "stopped (--duration 300ms reached)") || !strings.Contains(errOut, "FAIL expected 3 callbacks, 1 arrived") {
		t.Errorf("stderr:\n%s", errOut)
	}
}

// listen's --timeout meant the whole run, where every other command's
// --timeout is the time limit of one attempt: it is --duration now, and
// the old name keeps working with a notice on stderr, never on stdout.
func TestListenTimeoutIsADeprecatedAliasOfDuration(t *testing.T) {
	l := startListen(t, "--count", "3", "--timeout", "300ms")
	code, out, errOut := l.wait(t)
	if code != ExitCheckFailed {
		t.Fatalf("exit %d, want 1\n%s", code, errOut)
	}
	if !strings.Contains(errOut, "--timeout has been deprecated, use --duration instead") || !strings.Contains(errOut, "stopped (--duration 300ms reached)") {
		t.Errorf("stderr:\n%s", errOut)
	}
	if strings.Contains(out, "deprecated") {
		t.Errorf("the notice went to stdout:\n%s", out)
	}
}

func TestListenExpectStopsOnceEveryKindArrived(t *testing.T) {
	l := startListen(t, "--expect", "snapshot", "--expect", "record_done=2", "--duration", "20s")
	for _, k := range []event.Kind{event.Snapshot, event.RecordDone, event.PublishDone, event.RecordDone} {
		postBody(t, l.URL, sampleBody(t, k))
	}
	code, _, errOut := l.wait(t)
	if code != ExitOK || !strings.Contains(errOut, "stopped (every --expect held)") {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
}

func TestListenExpectMissingFails(t *testing.T) {
	l := startListen(t, "--expect", "quality", "--expect", "snapshot", "--duration", "300ms")
	postBody(t, l.URL, sampleBody(t, event.Snapshot))
	code, _, errOut := l.wait(t)
	if code != ExitCheckFailed || !strings.Contains(errOut, "FAIL expected at least 1 quality, 0 arrived") || strings.Contains(errOut, "snapshot, 0") {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
}

func TestListenFailOnInvalid(t *testing.T) {
	for _, tc := range []struct {
		flag bool
		code int
	}{{true, ExitCheckFailed}, {false, ExitOK}} {
		args := []string{"--count", "2"}
		if tc.flag {
			args = append(args, "--fail-on-invalid")
		}
		l := startListen(t, args...)
		postBody(t, l.URL, sampleBody(t, event.PublishDone))
		postBody(t, l.URL, []byte(`{"event":"record_done"}`))
		code, out, errOut := l.wait(t)
		if code != tc.code {
			t.Errorf("--fail-on-invalid=%v: exit %d, want %d\n%s", tc.flag, code, tc.code, errOut)
		}
		if !strings.Contains(out, "INVALID") || !strings.Contains(out, "missing_field") {
			t.Errorf("the invalid callback's findings are not shown:\n%s", out)
		}
		if tc.flag && !strings.Contains(errOut, "1 invalid callback(s) arrived, and invalid callbacks fail the run") {
			t.Errorf("summary does not say why:\n%s", errOut)
		}
	}
}

func TestListenPortTakenExits4(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	var out, errOut bytes.Buffer
	code := Main([]string{"listen", "--port", port, "--count", "1"}, Streams{Out: &out, Err: &errOut, Getenv: noEnv}, BuildInfo{})
	if code != ExitIO || !strings.Contains(errOut.String(), "cannot listen on 127.0.0.1:"+port) || !strings.Contains(errOut.String(), "choose another with --port, or --port 0 for any free port") || strings.Contains(errOut.String(), "ready:") {
		t.Errorf("exit %d\n%s", code, errOut.String())
	}
}

func TestListenUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--max-body", "lots"},
		{"--expect", "recrd_done"},
		{"--path", "video=/v"},
		{"--path", "record=nopath"},
		{"--status", "42"},
		{"--port", "70000"},
		{"--forward-to", "localhost:3000"},
	} {
		var out, errOut bytes.Buffer
		code := Main(append([]string{"listen", "--port", "0"}, args...), Streams{Out: &out, Err: &errOut, Getenv: noEnv}, BuildInfo{})
		if code != ExitUsage {
			t.Errorf("%v: exit %d, want 2\n%s", args, code, errOut.String())
		}
	}
}

func TestListenEscapesTerminalControlSequences(t *testing.T) {
	l := startListen(t, "--count", "2", "-v")
	// A valid callback whose stream name holds an escape sequence (JSON
	// escapes decode to real ESC and BEL), and raw control bytes in a body
	// that is not JSON.
	body, err := event.Set(sampleBody(t, event.PublishDone), "streamName", []byte(`"x\u001b]0;pwned\u0007\u001b[2J"`))
	if err != nil {
		t.Fatal(err)
	}
	postBody(t, l.URL, body)
	// (Go's HTTP stack refuses control characters in paths and headers on
	// both ends, so the body is where they can arrive.)
	postBody(t, l.URL, []byte("\x1b[31mred\x07\r"))
	code, out, errOut := l.wait(t)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	if strings.ContainsAny(out, "\x1b\x07\r") {
		t.Errorf("raw control characters reached the output:\n%q", out)
	}
	for _, want := range []string{`x\x1b]0;pwned\a\x1b[2J`, `\x1b[31mred\a\r`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks the escaped form %s:\n%s", want, out)
		}
	}
}

func TestListenJSONOutputIsOneRecordPerRequest(t *testing.T) {
	l := startListen(t, "--count", "1", "--output", "json")
	postBody(t, l.URL+"/cb", sampleBody(t, event.Quality))
	code, out, _ := l.wait(t)
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1 {
		t.Fatalf("stdout:\n%s", out)
	}
	rec, err := capture.Parse([]byte(lines[0]))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Kind != event.Quality || rec.Target != "/cb" || !strings.Contains(lines[0], `"callback":true,"valid":true`) {
		t.Errorf("record: %s", lines[0])
	}
}

func TestListenFamilyPathsFlag(t *testing.T) {
	l := startListen(t, "--count", "2", "--path", "record=/rec")
	postBody(t, l.URL+"/rec", sampleBody(t, event.RecordDone))
	postBody(t, l.URL+"/snapshot", sampleBody(t, event.RecordDone))
	_, out, _ := l.wait(t)
	lines := strings.Split(out, "\n")
	if !strings.HasSuffix(lines[0], "OK  → 200") || !strings.Contains(out, "wrong_family_path") {
		t.Errorf("stdout:\n%s", out)
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{"127.0.0.1": true, "::1": true, "[::1]": true, "localhost": true, "127.0.0.2": true,
		"0.0.0.0": false, "192.168.1.2": false, "example.com": false} {
		if got := listen.IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v", host, got)
		}
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "url")
	if err := writeFileAtomic(path, []byte("http://x\n")); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if b, _ := os.ReadFile(path); string(b) != "http://x\n" || len(entries) != 1 {
		t.Errorf("content %q, %d files left", b, len(entries))
	}
	// Errors name the file asked for, never the temporary one beside it.
	for target, want := range map[string]string{
		filepath.Join(dir, "missing", "url"): "cannot write " + filepath.Join(dir, "missing", "url") + ": the directory " + filepath.Join(dir, "missing") + " does not exist: create it, or check the path",
		dir:                                  "cannot write " + dir + ": is a directory, not a file",
	} {
		err := writeFileAtomic(target, nil)
		if err == nil {
			t.Errorf("writing %s succeeded", target)
			continue
		}
		if got := fileError(err).Error(); got != want {
			t.Errorf("writing %s:\n got %s\nwant %s", target, got, want)
		}
	}
}

func TestDemo(t *testing.T) {
	save := filepath.Join(t.TempDir(), "demo.ndjson")
	var out, errOut bytes.Buffer
	begin := time.Now()
	code := Main([]string{"demo", "--save", save}, Streams{Out: &out, Err: &errOut, Getenv: noEnv}, BuildInfo{Version: "test"})
	if code != ExitOK {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errOut.String())
	}
	if d := time.Since(begin); d > 20*time.Second {
		t.Errorf("demo took %v", d)
	}
	s := out.String()
	for _, k := range event.KindNames() {
		if !strings.Contains(s, "  "+k+" ") {
			t.Errorf("demo output lacks %s:\n%s", k, s)
		}
	}
	for _, want := range []string{"7 callbacks: 6 valid (0 with warnings), 1 invalid.", "INVALID, 2 errors", "deliberately broken", save} {
		if !strings.Contains(s, want) {
			t.Errorf("demo output lacks %q:\n%s", want, s)
		}
	}
	if n := countLines(t, save); n != 7 {
		t.Errorf("capture has %d records, want 7", n)
	}
}

// TestListenSIGTERMFinishesInFlightRequest runs the real binary: SIGTERM
// while a request is held by --delay; the request must be answered and
// captured, the summary printed, and the exit status 0.
func TestListenSIGTERMFinishesInFlightRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "livecb")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/livecb/livecb/cmd/livecb").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ready, save := filepath.Join(dir, "url"), filepath.Join(dir, "cap.ndjson")
	cmd := exec.Command(bin, "listen", "--port", "0", "--ready-file", ready, "--save", save, "--delay", "700ms")
	cmd.Env = testbin.Env()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var url string
	for i := 0; i < 2000 && url == ""; i++ {
		if b, err := os.ReadFile(ready); err == nil {
			url = strings.TrimSpace(string(b))
		} else {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if url == "" {
		t.Fatalf("no ready file; stderr:\n%s", stderr.String())
	}
	status := make(chan int, 1)
	go func() {
		resp, err := http.Post(url, "application/json", bytes.NewReader(sampleBody(t, event.PublishStarted)))
		if err != nil {
			status <- -1
			return
		}
		resp.Body.Close()
		status <- resp.StatusCode
	}()
	// The record is written before the delay: once it is there, the request
	// is in flight.
	for i := 0; i < 2000; i++ {
		if b, _ := os.ReadFile(save); bytes.Count(b, []byte("\n")) == 1 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if s := <-status; s != 200 {
		t.Errorf("in-flight request got %d, want 200", s)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "stopped (interrupted). 1 callback: 1 valid") {
		t.Errorf("no summary:\n%s", stderr.String())
	}
	if n := countLines(t, save); n != 1 {
		t.Errorf("capture has %d records", n)
	}
	if !strings.Contains(stdout.String(), "publish_started") {
		t.Errorf("stdout:\n%s", stdout.String())
	}
}
