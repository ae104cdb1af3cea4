//go:build linux

// (quickAnswer serves the event loop, which is Linux's: this test reads the
// same bytes through the loop's bytesSource.)

package deliver

import (
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// FuzzQuickAnswer: whatever quickAnswer accepts, readAnswer reads whole,
// from the same bytes, with the same status, the same close and the same
// length; and it accepts the answers receivers give.
func FuzzQuickAnswer(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nDate: Mon, 07 Dec 2026 10:09:13 GMT\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 11\r\nContent-Type: application/json\r\n\r\n{\"code\":0}\n",
		"HTTP/1.1 204 No Content\r\nServer: x\r\n\r\n",
		"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 5\r\n\r\nbusy!extra",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nconnection: Keep-Alive\r\ncontent-length: 2\r\n\r\nok",
		"HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n", "HTTP/1.0 200 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nX:\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX: a\tb\r\nContent-Length: 00\r\n\r\n", "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nab",
	} {
		f.Add([]byte(s), uint16(1000))
	}
	f.Fuzz(func(t *testing.T, b []byte, limit uint16) {
		lim := int64(limit)
		status, closes, n, ok := quickAnswer(b, lim)
		if !ok {
			return
		}
		src := bytesSource{b: b}
		r := newReader()
		r.reset(&src)
		resp := &fasthttp.Response{}
		st, err := readAnswer(r, resp, lim)
		read := src.i - r.br.Buffered()
		if err != nil || src.short || resp.StatusCode() != status || resp.ConnectionClose() != closes || read != n {
			t.Fatalf("%q (limit %d): quickAnswer %d close %v length %d; readAnswer %d close %v length %d, stage %d, wanted more %v: %v",
				b, lim, status, closes, n, resp.StatusCode(), resp.ConnectionClose(), read, st, src.short, err)
		}
	})
}

// TestQuickAnswerTakesWhatReceiversSend: the answers of common servers go
// the quick way (what it declines is read all the same, only slower).
func TestQuickAnswerTakesWhatReceiversSend(t *testing.T) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nDate: Mon, 07 Dec 2026 10:09:13 GMT\r\nContent-Length: 0\r\n\r\n",                                     // net/http
		"HTTP/1.1 200 OK\r\nServer: fasthttp\r\nDate: Mon, 07 Dec 2026 10:09:13 GMT\r\nContent-Length: 0\r\n\r\n",                 // fasthttp
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\nConnection: keep-alive\r\n\r\n{\"code\":0}\n", // nginx, express
		"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 6\r\nConnection: close\r\n\r\nfailed",
		"HTTP/1.1 204 No Content\r\nDate: Mon, 07 Dec 2026 10:09:13 GMT\r\n\r\n",
	} {
		if _, _, n, ok := quickAnswer([]byte(s), DefaultMaxResponse); !ok || n != len(s) {
			t.Errorf("%q: ok %v, length %d of %d", s, ok, n, len(s))
		}
		if _, _, _, ok := quickAnswer([]byte(s[:len(s)-1]), DefaultMaxResponse); ok {
			t.Errorf("%q cut short: taken as whole", s)
		}
	}
	for _, s := range []string{
		"HTTP/1.1 307 Temporary Redirect\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n", // a redirect: its Location is read
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: " + strings.Repeat("9", 10) + "\r\n\r\n",
		"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
	} {
		if _, _, _, ok := quickAnswer([]byte(s), DefaultMaxResponse); ok {
			t.Errorf("%q: taken the quick way", s)
		}
	}
}
