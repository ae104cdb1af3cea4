// Package delivertest holds receivers that misbehave, each in one way, so
// that every path that delivers callbacks (the Client as send, replay, the
// contract suite and the listener's forwarding use it, and the Poster of
// load mode) is tested against the same hostile peers and must report the
// same outcome within the same bounds. The peers are real TCP servers on
// loopback, written on net.Listen so that they can break HTTP as no HTTP
// server library would. Tests only.
package delivertest

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/deliver"
)

// Timeout is the per-attempt timeout the table is written for: long
// enough for an answer on a loaded machine, short enough for the peers
// that hang.
const Timeout = time.Second

// MaxAlloc bounds what delivering to a peer may allocate, whatever the
// peer announces (up to 9e18 bytes) or sends (forever).
const MaxAlloc = 64 << 20

// Peer is a receiver and the outcome every sending path must report
// against it.
type Peer struct {
	Name string
	// Scheme is the scheme of the URL to deliver to (a peer may speak
	// another).
	Scheme string
	// Cause is the failure every path reports; "" for an answer.
	Cause deliver.Cause
	// Status is the answer's status, kept for display when Cause is set
	// (0: no status line arrived).
	Status int
	// Unreachable is true when the failure means the receiver cannot be
	// reached at all (a replay stops there).
	Unreachable bool

	tls   bool
	raw   bool // serve reads the request itself
	serve func(c net.Conn)
}

// Peers returns the table, the well-behaved peer first.
func Peers() []Peer {
	zeros := make([]byte, 32<<10)
	longStatus := []byte("HTTP/1.1 200 " + strings.Repeat("a", 1<<20) + "\r\n\r\n")
	return []Peer{
		{Name: "ok", Scheme: "http", Status: 200, raw: true, serve: keepAlive},
		{Name: "content-length-9e18", Scheme: "http", Cause: deliver.CauseTooLarge, Status: 200,
			serve: then(write("HTTP/1.1 200 OK\r\nContent-Length: 9000000000000000000\r\n\r\nabc"), hang)},
		{Name: "content-length-100GB-streamed", Scheme: "http", Cause: deliver.CauseTooLarge, Status: 200,
			serve: then(write("HTTP/1.1 200 OK\r\nContent-Length: 100000000000\r\n\r\n"), stream(zeros))},
		{Name: "content-length-negative", Scheme: "http", Cause: deliver.CauseMalformed,
			serve: write("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nabc")},
		{Name: "content-length-garbage", Scheme: "http", Cause: deliver.CauseMalformed,
			serve: write("HTTP/1.1 200 OK\r\nContent-Length: 12abc\r\n\r\nabc")},
		{Name: "content-length-twice", Scheme: "http", Cause: deliver.CauseMalformed,
			serve: write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 3\r\n\r\nabc")},
		{Name: "chunk-size-not-hex", Scheme: "http", Cause: deliver.CauseMalformed, Status: 200,
			serve: write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n")},
		{Name: "chunk-of-1e18-streamed", Scheme: "http", Cause: deliver.CauseTooLarge, Status: 200,
			serve: then(write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffff\r\n"), stream(zeros))},
		{Name: "chunked-cut-short", Scheme: "http", Cause: deliver.CauseIncomplete, Status: 200,
			serve: write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")},
		{Name: "status-line-of-1MB", Scheme: "http", Cause: deliver.CauseTooLarge,
			serve: writeBytes(longStatus)},
		{Name: "headers-without-end", Scheme: "http", Cause: deliver.CauseTooLarge,
			serve: then(write("HTTP/1.1 200 OK\r\n"), stream([]byte(strings.Repeat("X-More: yes\r\n", 1000))))},
		{Name: "body-of-zeros-forever", Scheme: "http", Cause: deliver.CauseTooLarge, Status: 200,
			serve: then(write("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"), stream(zeros))},
		{Name: "body-cut-by-the-timeout", Scheme: "http", Cause: deliver.CauseTimeout, Status: 200,
			serve: then(write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc"), hang)},
		{Name: "body-cut-by-close", Scheme: "http", Cause: deliver.CauseIncomplete, Status: 200,
			serve: write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc")},
		{Name: "reset-after-status-line", Scheme: "http", Cause: deliver.CauseReset,
			serve: then(write("HTTP/1.1 200 OK\r\n"), reset)},
		{Name: "never-answers", Scheme: "http", Cause: deliver.CauseTimeout, serve: hang},
		{Name: "not-http", Scheme: "http", Cause: deliver.CauseMalformed, serve: write("hello\r\n\r\n")},
		{Name: "tls-server-on-http-url", Scheme: "http", Cause: deliver.CauseReset, tls: true, raw: true, serve: drain},
		{Name: "plain-server-on-https-url", Scheme: "https", Cause: deliver.CauseTLS, Unreachable: true, raw: true,
			serve: then(func(c net.Conn) { c.Read(make([]byte, 4096)) }, write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"))}, //nolint:errcheck // whatever arrived
	}
}

// Answered reports whether the peer answers completely.
func (p Peer) Answered() bool { return p.Cause == "" }

// Start serves p on a loopback port until the test ends and returns the
// URL to deliver to (path /cb).
func (p Peer) Start(t testing.TB) string {
	t.Helper()
	var cfg *tls.Config
	if p.tls {
		srv := httptest.NewTLSServer(http.NotFoundHandler())
		cfg = srv.TLS.Clone()
		srv.Close()
	}
	addr := Serve(t, func(c net.Conn) {
		if cfg != nil {
			if tls.Server(c, cfg).Handshake() == nil {
				return // only a client that speaks TLS to it gets that far
			}
		}
		if !p.raw {
			req, err := http.ReadRequest(bufio.NewReader(c))
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body) //nolint:errcheck // the request is not the point
		}
		p.serve(c)
	})
	return p.Scheme + "://" + addr + "/cb"
}

// Serve runs serve on each connection to a loopback port until the test
// ends (then every connection is closed) and returns the port's address.
// A connection lives 30 s at most, whatever the client does.
func Serve(t testing.TB, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Go(func() {
				defer func() {
					mu.Lock()
					delete(conns, c)
					mu.Unlock()
					c.Close()
				}()
				c.SetDeadline(time.Now().Add(30 * time.Second)) //nolint:errcheck // best effort
				serve(c)
			})
		}
	})
	return ln.Addr().String()
}

// keepAlive answers every request on the connection, as a receiver that
// works does.
func keepAlive(c net.Conn) {
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body) //nolint:errcheck // the request is not the point
		if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 11\r\nContent-Type: application/json\r\n\r\n{\"code\":0}\n"); err != nil {
			return
		}
	}
}

func write(s string) func(net.Conn) { return writeBytes([]byte(s)) }

func writeBytes(b []byte) func(net.Conn) {
	return func(c net.Conn) { c.Write(b) } //nolint:errcheck // a client that hung up is its business
}

func then(fs ...func(net.Conn)) func(net.Conn) {
	return func(c net.Conn) {
		for _, f := range fs {
			f(c)
		}
	}
}

// hang holds the connection open until the client closes it.
func hang(c net.Conn) { io.Copy(io.Discard, c) } //nolint:errcheck // ends with the client

// stream writes b until the client goes away.
func stream(b []byte) func(net.Conn) {
	return func(c net.Conn) {
		for {
			if _, err := c.Write(b); err != nil {
				return
			}
		}
	}
}

// reset closes the connection with a TCP RST instead of a FIN.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0) //nolint:errcheck // best effort
	}
}

// drain reads what the client sent a little longer, so that closing sends
// a FIN, not a reset for unread bytes.
func drain(c net.Conn) {
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond)) //nolint:errcheck // best effort
	io.Copy(io.Discard, c)                                   //nolint:errcheck // until the deadline
}

// Bounded runs f and fails t when it took longer than limit or allocated
// more than MaxAlloc (counted over the whole process: run it alone).
func Bounded(t testing.TB, limit time.Duration, f func()) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	f()
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > MaxAlloc {
		t.Errorf("allocated %d MiB (at most %d)", grew>>20, MaxAlloc>>20)
	}
	if took > limit {
		t.Errorf("took %s (at most %s)", took, limit)
	}
}

// Margin is added to every time bound: generous, as the machine may be
// loaded.
const Margin = 10 * time.Second
