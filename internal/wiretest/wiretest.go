// Package wiretest is a receiver that records each request exactly as it
// arrived on the wire (request line, headers, body), for the tests that
// compare what two ways of sending put on the wire. It is written on
// net.Listen, not on an HTTP server, so that nothing is parsed, reordered
// or canonicalised on the way. Tests only.
package wiretest

import (
	"bufio"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Receiver records the requests it reads, head and body, as they came.
type Receiver struct {
	// URL is http://127.0.0.1:PORT, without a path.
	URL    string
	answer func(target string) string
	mu     sync.Mutex
	got    []string
}

// New starts a Receiver that closes when the test ends. answer returns the
// raw answer to write for a request target (path and query); "" closes the
// connection without one.
func New(t testing.TB, answer func(target string) string) *Receiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	r := &Receiver{URL: "http://" + ln.Addr().String(), answer: answer}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go r.serve(c)
		}
	}()
	return r
}

// OK is an answer of 200 with a body of "ok".
func OK(string) string { return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" }

func (r *Receiver) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute)) //nolint:errcheck // best effort
	br := bufio.NewReader(c)
	for {
		var head strings.Builder
		length := 0
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			head.WriteString(line)
			if name, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(name, "Content-Length") {
				length, _ = strconv.Atoi(strings.TrimSpace(v))
			}
			if line == "\r\n" {
				break
			}
		}
		body := make([]byte, length)
		if _, err := io.ReadFull(br, body); err != nil {
			return
		}
		req := head.String() + string(body)
		r.mu.Lock()
		r.got = append(r.got, req)
		r.mu.Unlock()
		answer := r.answer(strings.Fields(req)[1])
		if answer == "" {
			return
		}
		if _, err := io.WriteString(c, answer); err != nil {
			return
		}
	}
}

// Take returns the requests recorded since the last Take.
func (r *Receiver) Take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := r.got
	r.got = nil
	return got
}
