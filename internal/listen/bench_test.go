package listen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/capture"
	"github.com/livecb/livecb/internal/event"
)

// BenchmarkHandle is the listener's own work on one callback, without the
// HTTP around it: headers read from the raw block, the body checked,
// encoded and committed to a capture log. Profile it with
//
//	go test ./internal/listen -run '^$' -bench Handle -cpuprofile cpu.out -memprofile mem.out
func BenchmarkHandle(b *testing.B) {
	s := benchServer(b)
	body := sample(b, "record_done")
	raw := []byte("Host: 127.0.0.1:8080\r\nUser-Agent: Go-http-client/1.1\r\nContent-Length: 405\r\nContent-Type: application/json\r\nAccept-Encoding: gzip\r\n\r\n")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		handleRaw(b, s, raw, body)
	}
}

// BenchmarkHandleDrift is BenchmarkHandle for a record_done from another
// revision of the service (duration and fileSize as JSON numbers): two
// type_drift warnings, checked, encoded into the record and committed.
func BenchmarkHandleDrift(b *testing.B) {
	s := benchServer(b)
	body := drifting(b)
	raw := []byte("Host: 127.0.0.1:8080\r\nUser-Agent: Go-http-client/1.1\r\nContent-Length: 405\r\nContent-Type: application/json\r\nAccept-Encoding: gzip\r\n\r\n")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		handleRaw(b, s, raw, body)
	}
}

// drifting is a record_done whose duration and fileSize are JSON numbers,
// as another revision of the service sends them.
func drifting(t testing.TB) []byte {
	t.Helper()
	body, _, err := event.Apply(event.RecordDone, sample(t, event.RecordDone),
		[]event.Override{{Path: "duration", Value: json.RawMessage(`598000.0`)}, {Path: "fileSize", Value: json.RawMessage(`186875000`)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, fs := event.Check(body, event.Options{}); len(fs) != 2 {
		t.Fatalf("the drifting body has findings %v, want two type_drift", fs)
	}
	return body
}

// benchServer is a listener that is not served: the benchmarks call its
// handler directly. It writes a capture log.
func benchServer(b *testing.B) *Server {
	w, err := capture.Create(filepath.Join(b.TempDir(), "c.ndjson"), false)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { w.Close() })
	s, err := Listen(Options{Addr: "127.0.0.1:0", Capture: w})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.ln.Close() })
	return s
}

// handleRaw handles a POST /cb of the raw header block and body, as serve
// does once fasthttp read them; it must be answered 200.
func handleRaw(b *testing.B, s *Server, raw, body []byte) {
	in := &incoming{method: "POST", target: "/cb", remote: "127.0.0.1:50000", head: parseHeader(raw, false), contentLength: int64(len(body))}
	if out := s.handle(in, readBody(bytes.NewReader(body), int64(len(body)), s.opts.MaxBody), time.Now()); out.status != 200 {
		b.Error(out.status)
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

// manyFields is a valid publish_done with n unknown fields added, of
// about 11 bytes each: 95,000 make a body just under 1 MiB, --max-body's
// default. Validating it yields a finding per field.
func manyFields(t testing.TB, n int) []byte {
	t.Helper()
	base := bytes.TrimSpace(sample(t, "publish_done"))
	var b bytes.Buffer
	b.Grow(len(base) + 11*n)
	b.Write(base[:len(base)-1])
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, ",\"f%05d\":1", i)
	}
	b.WriteByte('}')
	if b.Len() > DefaultMaxBody {
		t.Fatalf("%d fields make %d bytes, above the default body limit", n, b.Len())
	}
	return b.Bytes()
}

// BenchmarkSixteenLargeBodies is 16 bodies of 95,000 unknown fields (1 MiB
// each) handled at once, as in TestSixteenLargeBodies: its peak heap in use
// (MB) is the memory one such burst takes, the target being well under
// 400 MB of RSS for the whole process.
func BenchmarkSixteenLargeBodies(b *testing.B) {
	s := benchServer(b)
	body := manyFields(b, 95_000)
	raw := []byte("Host: 127.0.0.1:8080\r\nContent-Type: application/json\r\n\r\n")
	b.ReportAllocs()
	b.SetBytes(16 * int64(len(body)))
	h := watchHeap()
	for b.Loop() {
		var wg sync.WaitGroup
		for i := 0; i < 16; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				handleRaw(b, s, raw, body)
			}()
		}
		wg.Wait()
	}
	peak, _ := h.done()
	b.ReportMetric(float64(peak)/mb, "peak-heap-MB")
}
