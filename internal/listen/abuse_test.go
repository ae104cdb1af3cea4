package listen

// The listener under abuse: many connections at once, slow clients, huge,
// malformed and compressed bodies, oversized headers. Each test runs a real
// listener on loopback and asserts what was answered and what was captured.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/capture"
)

// TestFiveHundredConcurrentConnections: 500 connections at once, each
// posting several callbacks over keep-alive; every callback is answered 200
// and captured exactly once, numbered without gaps.
func TestFiveHundredConcurrentConnections(t *testing.T) {
	const conns, each = 500, 4
	s, path := start(t, Options{})
	var wg sync.WaitGroup
	errs := make(chan error, conns*each)
	begin := make(chan struct{})
	for c := 0; c < conns; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			// One transport per goroutine: its own connection, kept alive.
			tr := &http.Transport{MaxConnsPerHost: 1}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
			<-begin
			for i := 0; i < each; i++ {
				body := fmt.Sprintf(`{"event":"publish_done","conn":%d,"n":%d}`, c, i)
				resp, err := client.Post(s.URL()+"/cb", "application/json", strings.NewReader(body))
				if err != nil {
					errs <- fmt.Errorf("conn %d request %d: %v", c, i, err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errs <- fmt.Errorf("conn %d request %d: status %d", c, i, resp.StatusCode)
				}
			}
		}(c)
	}
	close(begin)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	recs := records(t, path)
	if len(recs) != conns*each {
		t.Fatalf("%d records, want %d", len(recs), conns*each)
	}
	seen := map[string]int{}
	remotes := map[string]bool{}
	for i, r := range recs {
		if r.Seq != uint64(i+1) {
			t.Fatalf("record %d has seq %d", i, r.Seq)
		}
		seen[r.Body]++
		remotes[r.Remote] = true
	}
	for c := 0; c < conns; c++ {
		for i := 0; i < each; i++ {
			if n := seen[fmt.Sprintf(`{"event":"publish_done","conn":%d,"n":%d}`, c, i)]; n != 1 {
				t.Errorf("conn %d callback %d captured %d times", c, i, n)
			}
		}
	}
	if len(remotes) != conns {
		t.Errorf("%d distinct client connections, want %d", len(remotes), conns)
	}
	if st := s.Stats(); st.Callbacks != conns*each || st.Requests != conns*each {
		t.Errorf("stats %+v, want %d callbacks", st, conns*each)
	}
}

// TestSlowClientsAreCutOffWhileOthersAreServed: clients that trickle their
// headers or their body are cut off by the timeouts, while a normal client
// is served at the same time.
func TestSlowClientsAreCutOffWhileOthersAreServed(t *testing.T) {
	const slow = 10
	s, path := start(t, Options{ReadHeaderTimeout: 300 * time.Millisecond, ReadTimeout: 600 * time.Millisecond})
	type cut struct {
		kind    string
		after   time.Duration
		answer  string
		readErr error
	}
	cuts := make(chan cut, 2*slow)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	trickle := func(kind, head string) {
		defer wg.Done()
		conn, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		begin := time.Now()
		io.WriteString(conn, head)
		// Keep sending one byte at a time until the server hangs up (or
		// the test ends); read what it answers meanwhile.
		done := make(chan cut, 1)
		go func() {
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			b, err := io.ReadAll(conn)
			done <- cut{kind: kind, after: time.Since(begin), answer: string(b), readErr: err}
		}()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < 400; i++ {
			select {
			case c := <-done:
				cuts <- c
				return
			case <-stop:
				return
			case <-tick.C:
				conn.Write([]byte("x"))
			}
		}
	}
	for i := 0; i < slow; i++ {
		wg.Add(2)
		go trickle("header", "POST /slow-header HTTP/1.1\r\nHost: x\r\nX-Slow: ")
		go trickle("body", "POST /slow-body HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
	}
	// Meanwhile a normal sender is served promptly.
	for i := 0; i < 20; i++ {
		begin := time.Now()
		resp, _ := post(t, s.URL()+"/ok", "application/json", sample(t, "publish_done"))
		if resp.StatusCode != 200 {
			t.Errorf("normal request %d: status %d", i, resp.StatusCode)
		}
		if d := time.Since(begin); d > 5*time.Second {
			t.Errorf("normal request %d took %v while slow clients were connected", i, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
	got := map[string]int{}
	timeout := time.After(20 * time.Second)
	for i := 0; i < 2*slow; i++ {
		select {
		case c := <-cuts:
			got[c.kind]++
			var ne net.Error
			if errors.As(c.readErr, &ne) && ne.Timeout() {
				t.Errorf("slow %s client was never cut off", c.kind)
			}
			if c.after > 8*time.Second {
				t.Errorf("slow %s client cut off only after %v", c.kind, c.after)
			}
			if c.kind == "body" && !strings.HasPrefix(c.answer, "HTTP/1.1 400 ") {
				t.Errorf("slow body client got %q, want a 400", firstLine(c.answer))
			}
		case <-timeout:
			t.Fatalf("slow clients still connected: cut off so far %v", got)
		}
	}
	close(stop)
	wg.Wait()
	if got["header"] != slow || got["body"] != slow {
		t.Errorf("cut off %v", got)
	}
	// Slow bodies are captured (what arrived, with a finding); requests
	// whose headers never ended are not requests at all.
	var bodies, normal int
	for _, r := range records(t, path) {
		switch r.Target {
		case "/slow-body":
			bodies++
			if r.Answer.Status != 400 || !hasCode(r, "error:truncated_line") || !strings.HasPrefix(r.Body, "{") || r.Size >= 1000 {
				t.Errorf("slow body record: status %d size %d findings %v", r.Answer.Status, r.Size, codes(r.Findings))
			}
		case "/ok":
			normal++
		default:
			t.Errorf("unexpected record for %s", r.Target)
		}
	}
	if bodies != slow || normal != 20 {
		t.Errorf("captured %d slow bodies and %d normal callbacks", bodies, normal)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func hasCode(r *capture.Record, code string) bool {
	for _, c := range codes(r.Findings) {
		if c == code {
			return true
		}
	}
	return false
}

// repeatReader is an endless reader of a byte, to stream large bodies without
// holding them.
type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// heapWatch samples the heap in use while a test runs and reports its peak
// growth, and how much was allocated in all.
type heapWatch struct {
	start    runtime.MemStats
	peak     atomic.Uint64
	stop     chan struct{}
	finished chan struct{}
}

func watchHeap() *heapWatch {
	runtime.GC()
	h := &heapWatch{stop: make(chan struct{}), finished: make(chan struct{})}
	runtime.ReadMemStats(&h.start)
	h.peak.Store(h.start.HeapInuse)
	go func() {
		defer close(h.finished)
		var m runtime.MemStats
		for {
			select {
			case <-h.stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			if m.HeapInuse > h.peak.Load() {
				h.peak.Store(m.HeapInuse)
			}
		}
	}()
	return h
}

// done returns the peak growth of the heap in use and the bytes allocated
// since watchHeap.
func (h *heapWatch) done() (peakGrowth, allocated uint64) {
	close(h.stop)
	<-h.finished
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return h.peak.Load() - min(h.peak.Load(), h.start.HeapInuse), m.TotalAlloc - h.start.TotalAlloc
}

const mb = 1 << 20

// TestHundredMegabyteBodyIs413WithBoundedMemory streams a 100 MB body: the
// answer is 413, the capture keeps its first MaxBody bytes, and the
// listener's memory does not grow with the body.
func TestHundredMegabyteBodyIs413WithBoundedMemory(t *testing.T) {
	const size = 100 * mb
	s, path := start(t, Options{})
	h := watchHeap()
	req, _ := http.NewRequest("POST", s.URL()+"/big", io.LimitReader(repeatReader('7'), size))
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	peak, allocated := h.done()
	if err != nil {
		t.Fatalf("the client did not get the answer: %v", err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d %q, want 413", resp.StatusCode, answer)
	}
	t.Logf("100 MB body: heap in use grew by at most %.1f MB, %.1f MB allocated in all", float64(peak)/mb, float64(allocated)/mb)
	if peak > 24*mb {
		t.Errorf("heap in use grew by %.1f MB for a 100 MB body", float64(peak)/mb)
	}
	if allocated > 40*mb {
		t.Errorf("%.1f MB allocated for a 100 MB body", float64(allocated)/mb)
	}
	recs := records(t, path)
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	r := recs[0]
	if !r.Truncated || len(r.Body) != DefaultMaxBody || r.Body != strings.Repeat("7", DefaultMaxBody) || r.Answer.Status != 413 {
		t.Errorf("record: truncated %v, %d bytes kept, answer %d", r.Truncated, len(r.Body), r.Answer.Status)
	}
	// The listener goes on serving.
	if resp, _ := post(t, s.URL(), "application/json", sample(t, "snapshot")); resp.StatusCode != 200 {
		t.Errorf("after the big body: status %d", resp.StatusCode)
	}
}

// rawExchange writes a raw request on a new connection and reads the
// answer.
func rawExchange(t *testing.T, addr, request string) (*http.Response, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to %q: %v", request, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestMalformedChunkedEncoding: bad chunk sizes and framing are answered
// 400, what the handler read before the error is captured, and the
// listener goes on serving.
func TestMalformedChunkedEncoding(t *testing.T) {
	s, path := start(t, Options{})
	const head = "POST /chunked HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
	cases := []struct {
		name, request string
		captured      bool   // the handler saw it (else Go's server refused it)
		body          string // what was captured
	}{
		{"chunk size not hex", head + "ZZ\r\nabc\r\n0\r\n\r\n", true, ""},
		{"chunk size overflows", head + "5\r\n{\"a\":\r\nFFFFFFFFFFFFFFFFFFFFFFFF\r\nx\r\n0\r\n\r\n", true, `{"a":`},
		{"chunk longer than its size", head + "3\r\n{\"a\":1}\r\n0\r\n\r\n", true, `{"a`},
		{"negative chunk size", head + "-5\r\nabcde\r\n0\r\n\r\n", true, ""},
		{"unknown transfer coding", strings.Replace(head, "chunked", "gzip, chunked, chunked", 1) + "0\r\n\r\n", false, ""},
	}
	want := 0
	for _, tc := range cases {
		resp, _ := rawExchange(t, s.Addr().String(), tc.request)
		if resp.StatusCode != 400 && !(resp.StatusCode == 501 && !tc.captured) {
			t.Errorf("%s: status %d, want 400", tc.name, resp.StatusCode)
		}
		if tc.captured {
			want++
		}
		// The listener survives and serves the next request.
		if resp, _ := post(t, s.URL()+"/after", "application/json", sample(t, "publish_done")); resp.StatusCode != 200 {
			t.Fatalf("after %s: status %d", tc.name, resp.StatusCode)
		}
		want++
		recs := records(t, path)
		if len(recs) != want {
			t.Fatalf("after %s: %d records, want %d", tc.name, len(recs), want)
		}
		if !tc.captured {
			continue
		}
		r := recs[len(recs)-2]
		if r.Target != "/chunked" || r.Answer.Status != 400 || r.Body != tc.body || r.Size != int64(len(tc.body)) || !hasCode(r, "error:truncated_line") {
			t.Errorf("%s: captured %s body %q size %d answer %d findings %v", tc.name, r.Target, r.Body, r.Size, r.Answer.Status, codes(r.Findings))
		}
	}
}

func gzipped(t *testing.T, write func(io.Writer)) []byte {
	t.Helper()
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	write(zw)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestGzipBodiesAreCapturedAsReceived: livecb never decompresses. A gzip
// body is captured byte for byte with a content_encoding error (the service
// sends plain JSON); a decompression bomb is just a small body.
func TestGzipBodiesAreCapturedAsReceived(t *testing.T) {
	s, path := start(t, Options{})
	small := gzipped(t, func(w io.Writer) { w.Write(sample(t, "publish_done")) })
	// 200 MB of zeros in a few hundred KB: a gzip file may hold many
	// members, which a decoder concatenates; one member holds 1 MB.
	member := gzipped(t, func(w io.Writer) { w.Write(make([]byte, mb)) })
	bomb := bytes.Repeat(member, 200)
	if len(bomb) > DefaultMaxBody {
		t.Fatalf("the bomb is %d bytes, above the body limit", len(bomb))
	}
	h := watchHeap()
	for _, body := range [][]byte{small, bomb} {
		req, _ := http.NewRequest("POST", s.URL()+"/gz", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Content-Encoding", "gzip")
		resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("status %d, want the configured answer", resp.StatusCode)
		}
	}
	peak, allocated := h.done()
	t.Logf("gzip bomb of %d bytes: heap grew by at most %.1f MB, %.1f MB allocated", len(bomb), float64(peak)/mb, float64(allocated)/mb)
	if peak > 24*mb || allocated > 40*mb {
		t.Errorf("a %d-byte gzip bomb made the heap grow by %.1f MB (%.1f MB allocated): was it decompressed?",
			len(bomb), float64(peak)/mb, float64(allocated)/mb)
	}
	recs := records(t, path)
	for i, want := range [][]byte{small, bomb} {
		got, err := recs[i].Bytes()
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("body %d: captured %d bytes (%v), sent %d", i, len(got), err, len(want))
		}
		if !hasCode(recs[i], "error:content_encoding") || recs[i].Header.Get("Content-Encoding") != "gzip" {
			t.Errorf("body %d: findings %v", i, codes(recs[i].Findings))
		}
	}
	// identity is no encoding at all.
	req, _ := http.NewRequest("POST", s.URL(), bytes.NewReader(sample(t, "publish_done")))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "identity")
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if r := records(t, path)[2]; len(r.Findings) != 0 {
		t.Errorf("Content-Encoding identity: findings %v", codes(r.Findings))
	}
}

// TestOversizedHeadersAre431: headers beyond maxHeaderBytes are refused by
// the server before any handler runs; the listener goes on.
func TestOversizedHeadersAre431(t *testing.T) {
	s, path := start(t, Options{})
	big := strings.Repeat("a", 100<<10)
	resp, _ := rawExchange(t, s.Addr().String(), "POST / HTTP/1.1\r\nHost: x\r\nX-Big: "+big+"\r\nContent-Length: 2\r\n\r\n{}")
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("100 KiB of headers: status %d, want 431", resp.StatusCode)
	}
	// Just above the limit too.
	resp, _ = rawExchange(t, s.Addr().String(), "POST / HTTP/1.1\r\nHost: x\r\nX-Big: "+big[:maxHeaderBytes]+"\r\nContent-Length: 2\r\n\r\n{}")
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("headers of %d bytes: status %d, want 431", maxHeaderBytes+50, resp.StatusCode)
	}
	// Headers of a normal size (a few KiB, e.g. a long signature) pass,
	// up to just under the limit.
	for _, n := range []int{8 << 10, maxHeaderBytes - 200} {
		resp, _ = rawExchange(t, s.Addr().String(), "POST / HTTP/1.1\r\nHost: x\r\nX-Sig: "+big[:n]+"\r\nContent-Length: 2\r\n\r\n{}")
		if resp.StatusCode != 200 {
			t.Errorf("%d bytes of headers: status %d", n, resp.StatusCode)
		}
	}
	if recs := records(t, path); len(recs) != 2 || len(recs[0].Header.Get("X-Sig")) != 8<<10 || len(recs[1].Header.Get("X-Sig")) != maxHeaderBytes-200 {
		t.Errorf("%d records, want only the two normal ones", len(recs))
	}
}
