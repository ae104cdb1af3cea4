package listen

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/livecb/livecb/internal/capture"
)

// FuzzServe writes arbitrary bytes as a request on a real connection to a
// running listener, plain and with --redact and a small body limit. The
// listener must not crash, must answer every request its handler saw with
// the status its record says, and every record must survive the capture
// log's JSON round trip with its body bytes intact. Bytes that are not a
// request get fasthttp's refusal (400, 408, 431) or no answer, and no record.
func FuzzServe(f *testing.F) {
	f.Add([]byte("POST /cb?token=1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 24\r\n\r\n{\"event\":\"publish_done\"}"))
	f.Add([]byte("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\nZZ\r\n"))
	f.Add([]byte("GET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\n"))
	f.Add([]byte("POST /record HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nAuthorization: Bearer t\r\nContent-Length: 3\r\n\r\n\x1f\x8b\x08"))
	f.Add([]byte("POST /stream HTTP/1.0\r\nContent-Length: 70\r\n\r\n{\"pushParams\":{\"auth_key\":\"k\x00\xff\"},\"event\":\"publish_started\",\"x\":1}"))
	f.Add([]byte("POST /a HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}"))

	var mu sync.Mutex
	var got []*capture.Record
	onRequest := func(r *Request, _ *Stats) {
		mu.Lock()
		got = append(got, r.Record)
		mu.Unlock()
	}
	short := Options{OnRequest: onRequest, ReadHeaderTimeout: time.Second, ReadTimeout: time.Second}
	plain := short
	plain.Paths = DefaultPaths
	redacting := short
	redacting.Redact, redacting.MaxBody = true, 64
	servers := []*Server{serve(f, plain), serve(f, redacting)}

	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, s := range servers {
			mu.Lock()
			got = nil
			mu.Unlock()
			statuses := exchange(t, s.Addr().String(), raw)
			mu.Lock()
			recs := got
			mu.Unlock()
			if len(recs) > len(statuses) {
				t.Fatalf("%d requests handled, %d answered", len(recs), len(statuses))
			}
			for i, rec := range recs {
				if statuses[i] != rec.Answer.Status {
					t.Fatalf("request %d answered %d, its record says %d", i+1, statuses[i], rec.Answer.Status)
				}
				// A kind is sealed to the body held, exactly when it is
				// the body that arrived, as text (event.Seal).
				if _, ok := rec.SealedKind(); ok != (rec.Kind != "" && !rec.Redacted && !rec.Truncated && rec.Encoding == "") {
					t.Fatalf("request %d: kind %q, redacted %v, truncated %v, encoding %q: seal %d holds: %v", i+1, rec.Kind, rec.Redacted, rec.Truncated, rec.Encoding, rec.KindSeal, ok)
				}
				switch rec.Answer.Status {
				case 200, 400, 405, 413:
				default:
					t.Fatalf("status %d", rec.Answer.Status)
				}
				checkRecord(t, s, rec)
			}
			for _, st := range statuses[len(recs):] {
				switch st {
				case 400, 408, 431:
				default:
					t.Fatalf("a request no handler saw was answered %d", st)
				}
			}
		}
	})
}

// exchange writes raw on a new connection, closes the writing side, and
// returns the final statuses of the answers (1xx skipped) until the
// listener hangs up.
func exchange(t *testing.T, addr string, raw []byte) []int {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	conn.Write(raw)
	conn.(*net.TCPConn).CloseWrite()
	br := bufio.NewReader(conn)
	var statuses []int
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("the listener neither answered nor hung up")
			}
			return statuses
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 200 {
			statuses = append(statuses, resp.StatusCode)
		}
	}
}

func checkRecord(t *testing.T, s *Server, rec *capture.Record) {
	want, err := rec.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	line, err := json.Marshal(rec)
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
	// Text exactly when it can be (a JSON string holds only UTF-8).
	if !rec.Redacted && (rec.Encoding == "") != utf8.Valid(want) {
		t.Fatalf("body %q held with encoding %q", want, rec.Encoding)
	}
	// (Masks may make a redacted body longer than what was read.)
	if !s.opts.Redact && int64(len(want)) > s.opts.MaxBody {
		t.Fatalf("kept %d bytes, limit %d", len(want), s.opts.MaxBody)
	}
}
