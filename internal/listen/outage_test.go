//go:build linux

package listen

// The real binary when what it depends on fails or is abused: file
// descriptors run out, the disk fills, the capture was cut by a crash,
// --forward-to points back at listen itself, --save is a FIFO. It must
// never exit for a reason a peer controls, and every callback answered 200
// must be one whole readable record. (Linux: ulimit, tmpfs, FIFOs and
// /proc are what the tests use.)

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/capture"
	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/testbin"
)

// alive fails the test when the process has exited.
func (p *process) alive(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("listen is gone (%v):\n%s", err, lastLines(p.stderr.String(), 5))
	}
}

// stop sends SIGTERM and returns the exit code.
func (p *process) stop(t *testing.T) int {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	return p.exit(t)
}

// exit waits for the process to end and returns its exit code.
func (p *process) exit(t *testing.T) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(30 * time.Second):
		t.Fatalf("listen did not exit:\n%s", lastLines(p.stderr.String(), 5))
		return -1
	}
}

func postStatus(t *testing.T, url string, body []byte) int {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{}, Timeout: 20 * time.Second}
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestOutOfFileDescriptors: under `ulimit -n 200`, 300 idle connections
// (more than listen can hold open) do not stop it: a callback is still
// answered and captured, and listen stops cleanly when told.
func TestOutOfFileDescriptors(t *testing.T) {
	p := startProcessWith(t, procOptions{nofile: 200})
	addr := strings.TrimPrefix(p.url, "http://")
	var idle []net.Conn
	for i := 0; i < 300; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		idle = append(idle, c)
	}
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	time.Sleep(300 * time.Millisecond) // (listen works through the backlog)
	p.alive(t)
	body := sample(t, event.PublishDone)
	if st := postStatus(t, p.url+"/cb", body); st != 200 {
		t.Fatalf("a callback with 300 idle connections open: status %d\n%s", st, lastLines(p.stderr.String(), 5))
	}
	p.alive(t)
	recs, _ := readLog(t, p.save)
	if len(recs) != 1 || recs[0].Body != string(body) {
		t.Fatalf("%d records", len(recs))
	}
	// More idle connections, then a burst of callbacks, each on a new
	// connection: every one answered.
	for i := 0; i < 300; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			idle = append(idle, c)
		}
	}
	for i := 0; i < 20; i++ {
		if st := postStatus(t, p.url+"/cb", body); st != 200 {
			t.Errorf("callback %d: status %d", i, st)
		}
	}
	if code := p.stop(t); code != 0 {
		t.Errorf("exit %d after SIGTERM:\n%s", code, lastLines(p.stderr.String(), 5))
	}
	if recs, _ := readLog(t, p.save); len(recs) != 21 {
		t.Errorf("%d records, want 21", len(recs))
	}
	if !strings.Contains(p.stderr.String(), "stopped (interrupted). 21 callbacks") {
		t.Errorf("no summary:\n%s", lastLines(p.stderr.String(), 5))
	}
}

// TestForwardToItself: --forward-to listen's own port makes one loop
// round (answered 508), not thousands, and listen goes on.
func TestForwardToItself(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir := t.TempDir()
	save := filepath.Join(dir, "c.ndjson")
	cmd := exec.Command(livecbBinary(t), "listen", "--port", fmt.Sprint(port), "--save", save,
		"--forward-to", fmt.Sprintf("http://127.0.0.1:%d", port), "--ready-file", filepath.Join(dir, "url"))
	cmd.Env = testbin.Env()
	p := &process{cmd: cmd, save: save, url: fmt.Sprintf("http://127.0.0.1:%d", port)}
	cmd.Stderr = &p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	waitFor(t, func() bool { _, err := os.Stat(filepath.Join(dir, "url")); return err == nil }, "listen ready")
	if st := postStatus(t, p.url+"/cb", sample(t, event.PublishDone)); st != http.StatusLoopDetected {
		t.Errorf("status %d, want 508", st)
	}
	p.alive(t)
	recs, _ := readLog(t, save)
	if len(recs) != 2 {
		t.Errorf("%d records, want 2: the request went round more than once", len(recs))
	}
	if code := p.stop(t); code != 0 {
		t.Errorf("exit %d", code)
	}
}

// TestRestartOnACutCapture: listen restarted on a capture whose last line
// a crash cut answers the next callback 200 and keeps it whole (it was
// appended to the fragment and lost).
func TestRestartOnACutCapture(t *testing.T) {
	dir := t.TempDir()
	save := filepath.Join(dir, "c.ndjson")
	whole := capture.AppendLine(nil, 1, mustEncode(t, &capture.Record{Method: "POST", Body: "{}"}))
	os.WriteFile(save, append(whole, `{"format":"livecb.capture.v1","seq":2,"event":"publish_do`...), 0o600)
	p := startProcessWith(t, procOptions{save: save})
	body := sample(t, event.PublishDone)
	if st := postStatus(t, p.url+"/cb", body); st != 200 {
		t.Fatalf("status %d", st)
	}
	recs, cut := readLog(t, save)
	if len(cut) != 0 || len(recs) != 2 || recs[1].Body != string(body) {
		t.Errorf("%d whole records (cut tail %q); the answered callback is not the second", len(recs), cut)
	}
	if code := p.stop(t); code != 0 {
		t.Errorf("exit %d", code)
	}
	want := fmt.Sprintf("Warning: %s: the record at byte %d was cut short (%d bytes", save, len(whole), len(`{"format":"livecb.capture.v1","seq":2,"event":"publish_do`))
	if !strings.Contains(p.stderr.String(), want) {
		t.Errorf("the repair is not reported (%s):\n%s", want, lastLines(p.stderr.String(), 5))
	}
}

func mustEncode(t *testing.T, r *capture.Record) capture.Encoded {
	t.Helper()
	enc, err := capture.Encode(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

// smallDisk mounts a tmpfs of size bytes (a real filesystem that fills) and
// unmounts it when the test ends. It needs root, as CI has.
func smallDisk(t *testing.T, size int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs (a real full disk); CI runs as root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (a container without CAP_SYS_ADMIN?): %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// fill writes a file that takes all the room left on dir's filesystem.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	// Byte by byte, the last partial page too.
	for {
		if _, err := f.Write(chunk[:1]); err != nil {
			return path
		}
	}
}

// TestFullDisk: a full disk is answered 500 (capture_failed), every 200
// is one whole readable record, no fragment is left between them, and once
// there is room the callbacks are saved again.
func TestFullDisk(t *testing.T) {
	dir := smallDisk(t, 256<<10)
	save := filepath.Join(dir, "c.ndjson")
	p := startProcessWith(t, procOptions{save: save})
	base := sample(t, event.PublishDone)
	var ok [][]byte
	var failed int
	send := func(i int) int {
		// Bodies of about 10 KB, so that a write falls short mid-record.
		body, err := event.Set(base, "streamName", event.StringValue(fmt.Sprintf("s%d-%s", i, strings.Repeat("x", 10000))))
		if err != nil {
			t.Fatal(err)
		}
		st := postStatus(t, p.url+"/cb", body)
		switch st {
		case 200:
			ok = append(ok, body)
		case 500:
			failed++
		default:
			t.Fatalf("callback %d: status %d", i, st)
		}
		return st
	}
	for i := 0; i < 4; i++ {
		send(i)
	}
	filler := fill(t, dir)
	for i := 4; i < 12; i++ {
		send(i)
	}
	if failed == 0 {
		t.Fatal("no callback failed on a full disk: nothing was proven")
	}
	os.Remove(filler) // room again
	for i := 12; i < 16; i++ {
		if st := send(i); st != 200 {
			t.Errorf("callback %d with room again: status %d", i, st)
		}
	}
	recs, cut := readLog(t, save) // (fails on a line that is not a whole record)
	if len(cut) != 0 {
		t.Errorf("the log ends with a cut line: %q", cut[:min(60, len(cut))])
	}
	have := map[string]int{}
	for _, r := range recs {
		have[r.Body]++
	}
	for _, b := range ok {
		if have[string(b)] != 1 {
			t.Errorf("an answered callback is in the log %d times", have[string(b)])
		}
	}
	if len(recs) != len(ok) {
		t.Errorf("%d records for %d answered callbacks", len(recs), len(ok))
	}
	if code := p.stop(t); code != 0 {
		t.Errorf("exit %d:\n%s", code, lastLines(p.stderr.String(), 5))
	}
	t.Logf("%d answered 200, %d answered 500", len(ok), failed)
	if !strings.Contains(p.stderr.String(), "could not write the capture log") {
		t.Errorf("the failures were not reported:\n%s", lastLines(p.stderr.String(), 5))
	}
}

// TestFullDiskFailsACIRun: a CI run whose callbacks could not be saved
// fails, however many were answered: they were answered 500.
func TestFullDiskFailsACIRun(t *testing.T) {
	dir := smallDisk(t, 64<<10)
	save := filepath.Join(dir, "c.ndjson")
	fill(t, dir)
	p := startProcessWith(t, procOptions{save: save}, "--count", "3", "--expect", "publish_done", "--duration", "3s")
	for i := 0; i < 3; i++ {
		if st := postStatus(t, p.url+"/cb", sample(t, event.PublishDone)); st != 500 {
			t.Errorf("callback %d on a full disk: status %d", i, st)
		}
	}
	code := p.exit(t)
	out := p.stderr.String()
	if code != 1 || strings.Contains(out, "PASS") || !strings.Contains(out, "could not be written to the capture log") {
		t.Errorf("exit %d, want 1 with a FAIL:\n%s", code, lastLines(out, 6))
	}
}

// TestSaveToAFIFO: --save to a FIFO (and --sync, which a FIFO cannot
// honour) delivers every record, and listen ends with its summary, 0.
func TestSaveToAFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no FIFO: %v", err)
	}
	var got []byte
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		got, _ = os.ReadFile(fifo)
	}()
	p := startProcessWith(t, procOptions{save: fifo}, "--sync", "--count", "2")
	for i := 0; i < 2; i++ {
		if st := postStatus(t, p.url+"/cb", sample(t, event.PublishDone)); st != 200 {
			t.Errorf("status %d", st)
		}
	}
	if code := p.exit(t); code != 0 {
		t.Errorf("exit %d:\n%s", code, lastLines(p.stderr.String(), 5))
	}
	wg.Wait()
	if n := bytes.Count(got, []byte("\n")); n != 2 {
		t.Errorf("the FIFO's reader got %d records", n)
	}
	if !strings.Contains(p.stderr.String(), "stopped (--count 2 reached). 2 callbacks") {
		t.Errorf("no summary:\n%s", lastLines(p.stderr.String(), 5))
	}
}

// TestSixteenLargeBodies: 16 bodies of 1 MiB with 95,000 unknown fields
// each, at once. Each is answered within 5 s; the process's peak RSS stays
// under 400 MB; what listen keeps and prints of each is bounded (a record
// little larger than its body, a few KB of terminal output). The peak
// depends on internal/event keeping its findings per body bounded: one
// finding per unknown field makes it several GB.
func TestSixteenLargeBodies(t *testing.T) {
	p := startProcess(t)
	body := manyFields(t, 95_000)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			client := &http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Second}
			resp, err := client.Post(p.url+"/cb", "application/json", bytes.NewReader(body))
			if err != nil {
				errs <- fmt.Errorf("body %d not answered within 5 s: %v", i, err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				errs <- fmt.Errorf("body %d: status %d", i, resp.StatusCode)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		t.Skipf("no /proc to read the peak RSS from: %v", err)
	}
	var peakKB int
	for _, l := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(l, "VmHWM:")), "%d", &peakKB)
		}
	}
	t.Logf("peak RSS %d MB", peakKB>>10)
	if peakKB == 0 || peakKB > 400<<10 {
		t.Errorf("peak RSS %d MB for 16 bodies of 1 MiB, want under 400 MB", peakKB>>10)
	}
	if code := p.stop(t); code != 0 {
		t.Errorf("exit %d", code)
	}
	data, _ := os.ReadFile(p.save)
	recs, _ := readLog(t, p.save)
	if len(recs) != 16 {
		t.Fatalf("%d records", len(recs))
	}
	if perRecord := len(data) / 16; perRecord > len(body)*3/2 {
		t.Errorf("%d bytes per record for a body of %d: what a record holds besides the body is not bounded", perRecord, len(body))
	}
	for _, r := range recs {
		if len(r.Findings) > maxFindings {
			t.Fatalf("a record holds %d findings", len(r.Findings))
		}
	}
	if out, _ := os.ReadFile(filepath.Join(filepath.Dir(p.save), "stdout")); len(out) > 16*64<<10 {
		t.Errorf("%d bytes printed for 16 callbacks", len(out))
	}
}

// TestSIGHUPReopensTheCapture: log rotation. After `mv capture capture.1`,
// records go on into capture.1 (with a warning); SIGHUP makes listen
// create a new capture and write there; capture.1 keeps every record whole;
// listen ends with its summary, exit 0. A SIGHUP without --save changes
// nothing.
func TestSIGHUPReopensTheCapture(t *testing.T) {
	p := startProcess(t)
	body := sample(t, event.PublishDone)
	for i := 0; i < 2; i++ {
		postStatus(t, p.url+"/cb", body)
	}
	if err := os.Rename(p.save, p.save+".1"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // (past the writer's next check of its path)
	postStatus(t, p.url+"/cb", body)
	p.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, func() bool { return strings.Contains(p.stderr.String(), "SIGHUP: reopened") }, "SIGHUP reopened the log")
	for i := 0; i < 2; i++ {
		if st := postStatus(t, p.url+"/cb", body); st != 200 {
			t.Errorf("after SIGHUP: status %d", st)
		}
	}
	if code := p.stop(t); code != 0 {
		t.Errorf("exit %d:\n%s", code, lastLines(p.stderr.String(), 5))
	}
	old, cut := readLog(t, p.save+".1")
	if len(old) != 3 || len(cut) != 0 {
		t.Errorf("the moved log holds %d records (cut tail %q), want 3", len(old), cut)
	}
	if recs, _ := readLog(t, p.save); len(recs) != 2 || recs[0].Seq != 4 {
		t.Errorf("the new log holds %d records, want 2 from seq 4", len(recs))
	}
	out := p.stderr.String()
	if !strings.Contains(out, "was moved or renamed") || !strings.Contains(out, "stopped (interrupted). 5 callbacks") {
		t.Errorf("no warning of the move, or no summary:\n%s", lastLines(out, 6))
	}

	q := startProcessWith(t, procOptions{save: "-"})
	q.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, func() bool { return strings.Contains(q.stderr.String(), "no capture log to reopen") }, "SIGHUP was seen")
	if st := postStatus(t, q.url+"/cb", body); st != 200 {
		t.Errorf("after SIGHUP without --save: status %d", st)
	}
	if code := q.stop(t); code != 0 {
		t.Errorf("exit %d without --save", code)
	}
}

// TestCaptureDirectoryRemoved: with the capture's directory gone, listen
// warns once, answers 500 (not 200 into a deleted file), and the summary
// says how many were not saved.
func TestCaptureDirectoryRemoved(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "logs")
	os.Mkdir(dir, 0o700)
	p := startProcessWith(t, procOptions{save: filepath.Join(dir, "c.ndjson")})
	body := sample(t, event.PublishDone)
	postStatus(t, p.url+"/cb", body)
	os.RemoveAll(dir)
	waitFor(t, func() bool { return postStatus(t, p.url+"/cb", body) == 500 }, "a 500 once the directory is gone")
	postStatus(t, p.url+"/cb", body)
	p.stop(t)
	out := p.stderr.String()
	if strings.Count(out, "was deleted with its directory: no record can be saved") != 1 {
		t.Errorf("want one warning of the removed directory:\n%s", lastLines(out, 8))
	}
	if !strings.Contains(out, "not saved (answered 500)") {
		t.Errorf("the summary does not count the lost ones:\n%s", lastLines(out, 3))
	}
	if _, err := os.Stat(dir); err == nil {
		t.Error("the directory was created again")
	}
}

// TestHostIPv6Loopback: --host '[::1]' binds, is not warned about, and
// serves.
func TestHostIPv6Loopback(t *testing.T) {
	probe, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	probe.Close()
	for _, host := range []string{"[::1]", "::1"} {
		p := startProcessWith(t, procOptions{save: "-"}, "--host", host)
		if !strings.HasPrefix(p.url, "http://[::1]:") || strings.Contains(p.stderr.String(), "not a loopback") {
			t.Errorf("--host %s: URL %s\n%s", host, p.url, p.stderr.String())
		}
		if st := postStatus(t, p.url+"/cb", sample(t, event.PublishDone)); st != 200 {
			t.Errorf("--host %s: status %d", host, st)
		}
		p.stop(t)
	}
}

// TestMaxConnsFlag: --max-conns 2 with two silent connections open: a
// callback still gets in, and the summary counts the connection let go.
func TestMaxConnsFlag(t *testing.T) {
	p := startProcessWith(t, procOptions{save: "-"}, "--max-conns", "2")
	addr := strings.TrimPrefix(p.url, "http://")
	for i := 0; i < 2; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	time.Sleep(200 * time.Millisecond)
	if st := postStatus(t, p.url+"/cb", sample(t, event.PublishDone)); st != 200 {
		t.Errorf("status %d", st)
	}
	p.stop(t)
	if out := p.stderr.String(); !strings.Contains(out, "idle connections closed and 0 refused at --max-conns") {
		t.Errorf("summary:\n%s", lastLines(out, 3))
	}
}
