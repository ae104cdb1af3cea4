package listen

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/livecb/livecb/internal/capture"
)

// FuzzServeHTTP hands arbitrary requests (as Go's server would parse them
// off the wire) to the listener's handler, plain and with --redact and a
// small body limit. It must never panic (net/http would hide a panic from
// a real client, so the handler is called directly), must answer with one
// of its statuses, and every record must survive the capture log's JSON
// round trip with its body bytes intact.
func FuzzServeHTTP(f *testing.F) {
	f.Add([]byte("POST /cb?token=1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 24\r\n\r\n{\"event\":\"publish_done\"}"))
	f.Add([]byte("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\nZZ\r\n"))
	f.Add([]byte("GET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\n"))
	f.Add([]byte("POST /record HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nAuthorization: Bearer t\r\nContent-Length: 3\r\n\r\n\x1f\x8b\x08"))
	f.Add([]byte("POST /stream HTTP/1.0\r\nContent-Length: 70\r\n\r\n{\"pushParams\":{\"auth_key\":\"k\x00\xff\"},\"event\":\"publish_started\",\"x\":1}"))

	var last *capture.Record
	onRequest := func(r *Request, _ *Stats) { last = r.Record }
	plain, err := Listen(Options{Addr: "127.0.0.1:0", OnRequest: onRequest, Paths: DefaultPaths})
	if err != nil {
		f.Fatal(err)
	}
	defer plain.srv.Close()
	redacting, err := Listen(Options{Addr: "127.0.0.1:0", OnRequest: onRequest, Redact: true, MaxBody: 64})
	if err != nil {
		f.Fatal(err)
	}
	defer redacting.srv.Close()

	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, s := range []*Server{plain, redacting} {
			req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
			if err != nil {
				return // Go's server answers 400 itself
			}
			last = nil
			w := httptest.NewRecorder()
			s.ServeHTTP(w, req)
			switch w.Code {
			case 200, 400, 405, 413:
			default:
				t.Fatalf("status %d", w.Code)
			}
			if last == nil {
				t.Fatal("no record reported")
			}
			want, err := last.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			line, err := json.Marshal(last)
			if err != nil {
				t.Fatalf("record does not encode: %v", err)
			}
			back, err := capture.Parse(line)
			if err != nil {
				t.Fatalf("record does not parse back: %v\n%s", err, line)
			}
			if got, _ := back.Bytes(); !bytes.Equal(got, want) {
				t.Fatalf("body %q came back as %q", want, got)
			}
			// (Masks may make a redacted body longer than what was read.)
			if !s.opts.Redact && int64(len(want)) > s.opts.MaxBody {
				t.Fatalf("kept %d bytes, limit %d", len(want), s.opts.MaxBody)
			}
		}
	})
}
