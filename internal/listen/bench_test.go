package listen

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/capture"
)

// BenchmarkHandle is the listener's own work on one callback, without the
// HTTP around it: headers read from the raw block, the body checked,
// encoded and committed to a capture log. Profile it with
//
//	go test ./internal/listen -run '^$' -bench Handle -cpuprofile cpu.out -memprofile mem.out
func BenchmarkHandle(b *testing.B) {
	w, err := capture.Create(filepath.Join(b.TempDir(), "c.ndjson"), false)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	s, err := Listen(Options{Addr: "127.0.0.1:0", Capture: w})
	if err != nil {
		b.Fatal(err)
	}
	defer s.ln.Close()
	body := sample(b, "record_done")
	raw := []byte("Host: 127.0.0.1:8080\r\nUser-Agent: Go-http-client/1.1\r\nContent-Length: 405\r\nContent-Type: application/json\r\nAccept-Encoding: gzip\r\n\r\n")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		header, host := parseHeader(raw, false)
		in := &incoming{method: "POST", target: "/cb", host: host, remote: "127.0.0.1:50000", header: header, contentLength: int64(len(body))}
		if out := s.handle(in, readBody(bytes.NewReader(body), int64(len(body)), s.opts.MaxBody), time.Now()); out.status != 200 {
			b.Fatal(out.status)
		}
	}
}

// BenchmarkParseHeader is the header block of a typical callback read into
// the record's http.Header.
func BenchmarkParseHeader(b *testing.B) {
	raw := []byte("Host: 127.0.0.1:8080\r\nUser-Agent: Go-http-client/1.1\r\nContent-Length: 405\r\nContent-Type: application/json\r\nAccept-Encoding: gzip\r\n\r\n")
	b.ReportAllocs()
	for b.Loop() {
		parseHeader(raw, false)
	}
}
