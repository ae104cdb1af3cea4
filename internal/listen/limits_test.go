package listen

// What no peer can do to the listener: exhaust its connections, make it
// forward in a loop, or make one request's record grow without bound.

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/capture"
	"github.com/livecb/livecb/internal/event"
)

// TestMaxConnsShedsTheLongestIdle: at the bound, a new connection takes
// the place of the connection idle the longest (here: accepted and
// silent), and its callback is answered and captured.
func TestMaxConnsShedsTheLongestIdle(t *testing.T) {
	const max = 4
	s, path := start(t, Options{MaxConns: max})
	var idle []net.Conn
	for i := 0; i < max; i++ {
		c, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		idle = append(idle, c)
		waitFor(t, func() bool { return s.openConns() == i+1 }, "connection %d tracked", i+1)
	}
	resp, _ := post(t, s.URL()+"/cb", "application/json", sample(t, event.PublishDone))
	if resp.StatusCode != 200 {
		t.Fatalf("a callback at the bound: status %d", resp.StatusCode)
	}
	if n := len(records(t, path)); n != 1 {
		t.Fatalf("%d records", n)
	}
	// The oldest idle connection was let go; the youngest is still open.
	idle[0].SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(idle[0]); err != nil {
		t.Errorf("the oldest idle connection was not closed: %v", err)
	}
	idle[max-1].SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := idle[max-1].Read(make([]byte, 1)); err == nil || !isTimeout(err) {
		t.Errorf("the youngest idle connection was closed (%v); the oldest should have been", err)
	}
	if st := s.Stats(); st.Shed < 1 || st.Refused != 0 {
		t.Errorf("stats shed %d refused %d", st.Shed, st.Refused)
	}
}

// TestMaxConnsRefusesWhenAllAreBusy: with every connection busy, a new
// one is answered 503 at once (and nothing is captured of it), and the
// busy ones are answered as usual.
func TestMaxConnsRefusesWhenAllAreBusy(t *testing.T) {
	const max = 3
	entered := make(chan struct{}, max)
	s, path := start(t, Options{MaxConns: max, Delay: 2 * time.Second, OnRequest: func(*Request, *Stats) { entered <- struct{}{} }})
	var wg sync.WaitGroup
	statuses := make(chan int, max)
	for i := 0; i < max; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second}
			resp, err := client.Post(s.URL()+"/busy", "application/json", strings.NewReader(`{"event":"publish_done"}`))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	for i := 0; i < max; i++ {
		<-entered // every connection is held by Delay
	}
	begin := time.Now()
	resp, answer := rawExchange(t, s.Addr().String(), "POST /more HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(answer, "too many connections") {
		t.Errorf("a connection beyond the busy bound: %d %q", resp.StatusCode, answer)
	}
	if d := time.Since(begin); d > 1500*time.Millisecond {
		t.Errorf("refused only after %v, while the busy requests still wait", d)
	}
	wg.Wait()
	close(statuses)
	for st := range statuses {
		if st != 200 {
			t.Errorf("a busy request was answered %d", st)
		}
	}
	recs := records(t, path)
	if len(recs) != max {
		t.Errorf("%d records, want the %d busy ones", len(recs), max)
	}
	if st := s.Stats(); st.Refused != 1 {
		t.Errorf("stats refused %d, want 1", st.Refused)
	}
	// Once they are answered, the listener takes connections again.
	if resp, _ := post(t, s.URL()+"/after", "application/json", sample(t, event.PublishDone)); resp.StatusCode != 200 {
		t.Errorf("after the busy ones: status %d", resp.StatusCode)
	}
}

func (s *Server) openConns() int {
	s.ln.mu.Lock()
	defer s.ln.mu.Unlock()
	return len(s.ln.conns)
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

func waitFor(t *testing.T, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: "+format, args...)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestForwardLoopIs508: a listener forwarding to itself answers the
// forwarded copy 508 (captured with a finding) instead of forwarding it
// again, round and round.
func TestForwardLoopIs508(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	path := t.TempDir() + "/c.ndjson"
	w := openCapture(t, path)
	s, err := Listen(Options{Addr: addr, ForwardTo: "http://" + addr, Capture: w})
	if err != nil {
		t.Skipf("the port was taken meanwhile: %v", err)
	}
	go s.Serve()
	defer s.Shutdown(t.Context())
	resp, body := post(t, s.URL()+"/cb", "application/json", sample(t, event.PublishDone))
	if resp.StatusCode != http.StatusLoopDetected || !strings.Contains(body, "loop") {
		t.Errorf("the sender got %d %q, want the 508 of the loop", resp.StatusCode, body)
	}
	recs := records(t, path)
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2 (the forwarded copy, then the original)", len(recs))
	}
	loop, orig := recs[0], recs[1]
	if loop.Answer.Status != 508 || fmt.Sprint(codes(loop.Findings)) != "[error:forward_loop]" || loop.Answer.Forwarded != nil ||
		loop.Header.Get(forwardedBy) != forwardID {
		t.Errorf("the looped copy: answer %+v findings %v header %v", loop.Answer, codes(loop.Findings), loop.Header)
	}
	if orig.Answer.Status != 508 || orig.Answer.Forwarded == nil || orig.Answer.Forwarded.Status != 508 || orig.Header.Get(forwardedBy) != "" {
		t.Errorf("the original: answer %+v", orig.Answer)
	}
	if st := s.Stats(); st.Requests != 2 {
		t.Errorf("%d requests: it looped", st.Requests)
	}
	// Another listener's mark is forwarded on (a chain, not a loop).
	if forwardedHere(http.Header{forwardedBy: {"0123456789abcdef, fedcba9876543210"}}) ||
		!forwardedHere(http.Header{forwardedBy: {"0123456789abcdef, " + forwardID}}) {
		t.Error("forwardedHere does not tell this process's mark among others")
	}
}

// TestRecordsAreBounded: whatever the findings, a record keeps at most
// maxFindings, the last counting the rest, each message at most
// maxMessage bytes.
func TestRecordsAreBounded(t *testing.T) {
	var fs event.Findings
	for i := 0; i < 1000; i++ {
		sev := event.Warning
		if i%100 == 99 {
			sev = event.Error
		}
		fs = append(fs, event.Finding{Severity: sev, Code: event.CodeUnknownField, Message: fmt.Sprintf("unknown field %q", strings.Repeat("é", 5*i))})
	}
	got := boundFindings(fs)
	if len(got) != maxFindings {
		t.Fatalf("%d findings kept, want %d", len(got), maxFindings)
	}
	last := got[maxFindings-1]
	rest := 1000 - (maxFindings - 1)
	if last.Code != CodeMoreFindings || last.Severity != event.Error ||
		last.Message != fmt.Sprintf("and %d more findings (%d errors, %d warnings), not kept", rest, 9, rest-9) {
		t.Errorf("last finding %+v", last)
	}
	for i, f := range got {
		if len(f.Message) > maxMessage || !strings.HasPrefix(f.Message, "unknown field") && f.Code != CodeMoreFindings {
			t.Fatalf("finding %d: message of %d bytes", i, len(f.Message))
		}
	}
	if m := got[maxFindings-2].Message; !strings.HasSuffix(m, "é...") {
		t.Errorf("a long message is not cut at a rune: %q", m[len(m)-10:])
	}
	if few := boundFindings(fs[:3]); len(few) != 3 || few[2].Message != fs[2].Message {
		t.Errorf("a few short findings changed: %v", few)
	}
}

// TestCaptureFailuresDoNotCount: a callback answered 500 because its
// record could not be written is counted (CaptureFailed, Invalid), but not
// toward a goal, and fails an active one.
func TestCaptureFailuresDoNotCount(t *testing.T) {
	st := Stats{Requests: 3, Callbacks: 3, Valid: 1, Invalid: 2, CaptureFailed: 2, Kinds: map[event.Kind]int{event.PublishDone: 1}}
	if st.Saved() != 1 {
		t.Errorf("Saved = %d", st.Saved())
	}
	for _, tc := range []struct {
		goal     Goal
		reached  bool
		failures string
	}{
		{Goal{Count: 3}, false, "expected 3 callbacks, 1 arrived; 2 request(s) could not be written to the capture log (answered 500, not counted)"},
		{Goal{Count: 1}, true, "2 request(s) could not be written to the capture log (answered 500, not counted)"},
		{Goal{Expect: []Expectation{{event.PublishDone, 1}}}, true, "2 request(s) could not be written to the capture log (answered 500, not counted)"},
		{Goal{Timeout: time.Second}, false, "2 request(s) could not be written to the capture log (answered 500, not counted)"},
		{Goal{}, false, ""},
	} {
		if got := tc.goal.Reached(st); got != tc.reached {
			t.Errorf("%+v: Reached = %v", tc.goal, got)
		}
		if got := strings.Join(tc.goal.Failures(st), "; "); got != tc.failures {
			t.Errorf("%+v: Failures = %q, want %q", tc.goal, got, tc.failures)
		}
	}
	if !(Goal{Timeout: time.Second}).Active() {
		t.Error("a --timeout run is a CI run")
	}
}

// TestJoinHostPortAndIsLoopback: hosts as a user writes them.
func TestJoinHostPortAndIsLoopback(t *testing.T) {
	for _, tc := range []struct {
		host     string
		addr     string
		loopback bool
	}{
		{"127.0.0.1", "127.0.0.1:8080", true},
		{"127.1.2.3", "127.1.2.3:8080", true},
		{"localhost", "localhost:8080", true},
		{"LocalHost", "LocalHost:8080", true},
		{"::1", "[::1]:8080", true},
		{"[::1]", "[::1]:8080", true},
		{"::ffff:127.0.0.1", "[::ffff:127.0.0.1]:8080", true},
		{"0.0.0.0", "0.0.0.0:8080", false},
		{"::", "[::]:8080", false},
		{"[::]", "[::]:8080", false},
		{"192.168.1.2", "192.168.1.2:8080", false},
		{"example.com", "example.com:8080", false},
		{"", ":8080", false},
	} {
		if got := JoinHostPort(tc.host, 8080); got != tc.addr {
			t.Errorf("JoinHostPort(%q) = %q, want %q", tc.host, got, tc.addr)
		}
		if got := IsLoopback(tc.host); got != tc.loopback {
			t.Errorf("IsLoopback(%q) = %v", tc.host, got)
		}
	}
}

// TestListenOnIPv6Loopback: [::1] binds, and callbacks arrive on it.
func TestListenOnIPv6Loopback(t *testing.T) {
	probe, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	probe.Close()
	s, err := Listen(Options{Addr: JoinHostPort("[::1]", 0)})
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	defer s.Shutdown(t.Context())
	if !strings.HasPrefix(s.URL(), "http://[::1]:") {
		t.Errorf("URL %s", s.URL())
	}
	resp, _ := post(t, s.URL()+"/cb", "application/json", sample(t, event.PublishDone))
	if resp.StatusCode != 200 {
		t.Errorf("status %d", resp.StatusCode)
	}
}

// openCapture opens a capture log closed when the test ends.
func openCapture(t *testing.T, path string) *capture.Writer {
	t.Helper()
	w, err := capture.Create(path, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// TestShutdownDoesNotWaitForSilentConnections: connections that hold no
// request (accepted and silent, or idle between requests) do not hold a
// shutdown for their timeouts.
func TestShutdownDoesNotWaitForSilentConnections(t *testing.T) {
	s, err := Listen(Options{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	client := &http.Client{Transport: &http.Transport{}} // (keeps its connection idle)
	resp, err := client.Post(s.URL(), "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	waitFor(t, func() bool { return s.openConns() == 4 }, "4 connections open")
	// Well under the 10 s header timeout the silent ones would wait for.
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v: it waited for connections that hold no request", err)
	}
}
