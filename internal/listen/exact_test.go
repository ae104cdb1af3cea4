package listen

// What the capture keeps of a request's line and headers when they are not
// what a well-behaved sender sends: bytes that are not UTF-8, trailers,
// two Host headers. Each is kept exactly, or refused as net/http refuses it
// and captured with a finding.

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestNonUTF8TargetAndHostAreCapturedExactly: the record shows them
// readably and keeps their bytes.
func TestNonUTF8TargetAndHostAreCapturedExactly(t *testing.T) {
	s, path := start(t, Options{})
	const body = `{"event":"publish_done"}`
	resp, _ := rawExchange(t, s.Addr().String(), "POST /\xff\xfe?a=\x80 HTTP/1.1\r\nHost: h\xe9.example\r\nContent-Type: application/json\r\n"+
		fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body))
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	rec := records(t, path)[0]
	target, err1 := rec.ExactTarget()
	host, err2 := rec.ExactHost()
	if target != "/\xff\xfe?a=\x80" || host != "h\xe9.example" || err1 != nil || err2 != nil {
		t.Errorf("exact target %q host %q (%v, %v)", target, host, err1, err2)
	}
	if rec.Target != "/\ufffd\ufffd?a=\ufffd" || rec.Host != "h\ufffd.example" {
		t.Errorf("readable target %q host %q", rec.Target, rec.Host)
	}
}

// TestChunkedTrailersAreCaptured: the trailer fields after a chunked body,
// and the Trailer header announcing them, are in the record; values that
// are not UTF-8 keep their bytes.
func TestChunkedTrailersAreCaptured(t *testing.T) {
	s, path := start(t, Options{})
	req := "POST /cb HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum, X-Latin1\r\n\r\n" +
		"e\r\n{\"event\":\"publ\r\na\r\nish_done\"}\r\n0\r\nX-Sum: abc123\r\nX-Latin1: caf\xe9\r\nX-Sum: second\r\n\r\n"
	resp, _ := rawExchange(t, s.Addr().String(), req)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	rec := records(t, path)[0]
	if rec.Body != `{"event":"publish_done"}` {
		t.Errorf("body %q", rec.Body)
	}
	if got := rec.Header.Values("Trailer"); len(got) != 1 || got[0] != "X-Sum, X-Latin1" {
		t.Errorf("Trailer header %q, want as sent", got)
	}
	trailer, err := rec.ExactTrailer()
	if err != nil {
		t.Fatal(err)
	}
	if got := trailer.Values("X-Sum"); strings.Join(got, "|") != "abc123|second" {
		t.Errorf("trailer X-Sum %q", got)
	}
	if got := trailer.Get("X-Latin1"); got != "caf\xe9" {
		t.Errorf("trailer X-Latin1 %q", got)
	}
	if len(trailer) != 2 || rec.Trailer.Get("X-Latin1") != "caf\ufffd" {
		t.Errorf("trailer %q (readable %q)", trailer, rec.Trailer)
	}
	// A chunked body without trailers has none.
	rawExchange(t, s.Addr().String(), "POST /cb HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
	if r := records(t, path)[1]; r.Trailer != nil || r.Body != "{}" {
		t.Errorf("trailer %q body %q", r.Trailer, r.Body)
	}
}

// TestTwoHostHeadersAre400: net/http refuses a request with two Host
// headers, so a Go receiver would never see it; livecb answers 400 too
// (fasthttp refuses it before any handler, so nothing is captured, as for
// any request that is no HTTP request a receiver would see), and says why
// without echoing what it read.
func TestTwoHostHeadersAre400(t *testing.T) {
	if _, err := http.ReadRequest(bufio.NewReader(strings.NewReader("POST / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"))); err == nil {
		t.Fatal("net/http reads two Host headers now: livecb need not refuse them")
	}
	s, path := start(t, Options{})
	const body = `{"event":"publish_done","secret":"s3cr3t"}`
	resp, answer := rawExchange(t, s.Addr().String(), "POST /cb HTTP/1.1\r\nHost: a.example\r\nContent-Type: application/json\r\nHost: b.example\r\n"+
		fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body))
	if resp.StatusCode != 400 || answer != "livecb listen: more than one Host header: a request has exactly one\n" || !resp.Close {
		t.Errorf("answer %d %q (close %v), want 400 closing the connection", resp.StatusCode, answer, resp.Close)
	}
	if strings.Contains(answer, "s3cr3t") {
		t.Errorf("the answer echoes the request: %q", answer)
	}
	if recs := records(t, path); len(recs) != 0 {
		t.Errorf("%d records of a refused request", len(recs))
	}
}

// TestBodyTimeRunsFromTheEndOfTheHeaders: the body has ReadTimeout from
// the end of the headers, also for its first byte (which fasthttp reads
// before the handler runs): a body that starts after the header timeout
// but well within the body's is captured whole.
func TestBodyTimeRunsFromTheEndOfTheHeaders(t *testing.T) {
	s, path := start(t, Options{ReadHeaderTimeout: 200 * time.Millisecond, ReadTimeout: 5 * time.Second})
	body := string(sample(t, "publish_done"))
	for _, tc := range []struct {
		name string
		head []string
		body string
	}{
		{"content-length", []string{fmt.Sprintf("POST /late HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))}, body},
		{"chunked", []string{"POST /late HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"},
			fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(body), body)},
		// The blank line split across two reads.
		{"split blank line", []string{fmt.Sprintf("POST /late HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r", len(body)), "\n"}, body},
	} {
		conn, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		for _, part := range tc.head {
			conn.Write([]byte(part))
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(600 * time.Millisecond) // 3x the header timeout
		conn.Write([]byte(tc.body))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		conn.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("%s: a body 600 ms after its headers: %v %v, want 200", tc.name, resp, err)
		}
	}
	recs := records(t, path)
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3", len(recs))
	}
	for i, r := range recs {
		if r.Body != body || len(r.Findings) != 0 {
			t.Errorf("record %d: body %q findings %v", i, r.Body, codes(r.Findings))
		}
	}
	// The headers still have their own limit.
	conn, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte("POST /slow HTTP/1.1\r\nHost: x\r\n"))
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("unfinished headers: %v %v, want 408", resp, err)
	}
}
