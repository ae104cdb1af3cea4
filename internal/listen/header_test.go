package listen

import (
	"bufio"
	"net/http"
	"net/textproto"
	"reflect"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// HTTP allows header values that are not UTF-8; the capture keeps their
// exact bytes (header_raw), while "header" shows them readably.
func TestNonUTF8HeaderValuesAreCapturedExactly(t *testing.T) {
	s, path := start(t, Options{})
	body := `{"event":"publish_done"}`
	req := "POST /cb HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Latin1: caf\xe9\r\nX-Plain: ok\r\n" +
		"Content-Length: 24\r\n\r\n" + body
	resp, _ := rawExchange(t, s.Addr().String(), req)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	recs := records(t, path)
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	h, err := recs[0].ExactHeader()
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Get("X-Latin1"); got != "caf\xe9" {
		t.Errorf("exact X-Latin1 = %q", got)
	}
	if got := recs[0].Header.Get("X-Latin1"); got != "caf\ufffd" {
		t.Errorf("readable X-Latin1 = %q", got)
	}
	if _, ok := recs[0].HeaderRaw["X-Plain"]; ok || h.Get("X-Plain") != "ok" {
		t.Errorf("a UTF-8 header went to header_raw: %v", recs[0].HeaderRaw)
	}
}

// headerCases are request heads on which livecb's header reading must agree
// with net/http's: repeated headers, case, folding, spacing, framing.
var headerCases = []string{
	"POST /cb HTTP/1.1\r\nHost: example.com\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n",
	"POST /cb HTTP/1.1\r\nhost: a\r\ncontent-type: application/json\r\nx-custom-header: v\r\nX-CUSTOM-HEADER: w\r\nContent-Length: 0\r\n\r\n",
	"POST /cb HTTP/1.1\r\nHost: a\r\nX-Spaced:   padded value \t \r\nX-Empty:\r\nX-Tab:\tt\r\n\r\n",
	"POST /cb HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\nContent-Type: application/json\r\n\r\n",
	"POST /cb HTTP/1.1\r\nHost: a\r\nTrailer: X-Sum\r\nContent-Length: 0\r\n\r\n",
	"POST /cb HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n",
	"POST /cb HTTP/1.1\r\nHost: a\r\nX-Latin1: caf\xe9\r\nX-Utf8: caf\u00e9\r\nContent-Length: 0\r\n\r\n",
	"POST /cb HTTP/1.1\nHost: a\nX-Bare-LF: yes\nContent-Length: 0\n\n",
	"POST /cb HTTP/1.0\r\nUser-Agent: curl/8\r\nAccept: */*\r\nAccept: text/plain\r\nContent-Length: 0\r\n\r\n",
	"POST /cb HTTP/1.1\r\nHost: a\r\nX_Under_Score: 1\r\nx-ÿ-invalid: 2\r\nContent-Length: 0\r\n\r\n",
	"POST /cb HTTP/1.1\r\nHost: a\r\nWww-Authenticate: x\r\nwww-authenticate: y\r\nCONTENT-MD5: z\r\nContent-Length: 0\r\n\r\n",
	"POST /cb HTTP/1.1\r\nHost: a\r\nX-Folded: first\r\n  second\r\n\tthird\r\nContent-Length: 0\r\n\r\n",
}

// netHTTPHeader is what net/http's server makes of a request head: its
// Header and Host, or ok false when it refuses the request.
func netHTTPHeader(head string) (h http.Header, host string, ok bool) {
	req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(head)))
	if err != nil {
		return nil, "", false
	}
	h = req.Header
	// net/http's server deletes Host and adds Cache-Control for a Pragma
	// (HTTP/1.0 compatibility); livecb keeps what was sent.
	delete(h, "Host")
	if _, sent := headerLines(head)["Cache-Control"]; !sent && h.Get("Pragma") == "no-cache" {
		delete(h, "Cache-Control")
	}
	// net/http moves the Trailer header of a chunked body to req.Trailer;
	// livecb keeps it as sent: as textproto read it, before that move.
	if len(req.TransferEncoding) > 0 {
		tp := textproto.NewReader(bufio.NewReader(strings.NewReader(head)))
		tp.ReadLine()
		if mh, err := tp.ReadMIMEHeader(); err == nil && len(mh["Trailer"]) > 0 {
			h["Trailer"] = mh["Trailer"]
		}
	}
	return h, req.Host, true
}

// headerLines counts the canonical names in a request head, roughly.
func headerLines(head string) map[string]bool {
	names := map[string]bool{}
	for _, line := range strings.Split(head, "\n")[1:] {
		if name, _, ok := strings.Cut(line, ":"); ok {
			names[textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(name))] = true
		}
	}
	return names
}

// fasthttpRawHeader is the header block fasthttp's server hands livecb, or
// ok false when it refuses the request.
func fasthttpRawHeader(head string) (raw []byte, chunked, ok bool) {
	var h fasthttp.RequestHeader
	h.DisableNormalizing()
	if err := h.Read(bufio.NewReader(strings.NewReader(head))); err != nil {
		return nil, false, false
	}
	// fasthttp honours Transfer-Encoding: chunked below HTTP/1.1 too, where
	// net/http ignores it: the two frame such a body differently, and the
	// header follows each one's framing. Not compared.
	if h.ContentLength() == -1 && !h.IsHTTP11() {
		return nil, false, false
	}
	return h.RawHeaders(), h.ContentLength() == -1, true
}

// TestHeaderAsNetHTTPReadsIt: for requests both servers accept, the header
// livecb captures is the one net/http's server would have given it (the
// capture format predates the move to fasthttp).
func TestHeaderAsNetHTTPReadsIt(t *testing.T) {
	compared := 0
	for _, head := range headerCases {
		want, wantHost, ok := netHTTPHeader(head)
		raw, chunked, fok := fasthttpRawHeader(head)
		if !ok || !fok {
			t.Logf("%q: net/http accepts: %v, fasthttp accepts: %v", firstLine(head), ok, fok)
			continue
		}
		compared++
		hd := parseHeader(raw, chunked)
		if !reflect.DeepEqual(hd.header, want) || hd.host != wantHost {
			t.Errorf("%q:\n got  %q host %q\n want %q host %q", head, hd.header, hd.host, want, wantHost)
		}
		if hd.contentType != first(want, "Content-Type") || hd.contentEncoding != first(want, "Content-Encoding") {
			t.Errorf("%q: Content-Type %q and Content-Encoding %q, want the header's first: %q", head, hd.contentType, hd.contentEncoding, want)
		}
	}
	// Only the bare-LF head and the folded one are refused by a server.
	if compared != len(headerCases)-2 {
		t.Errorf("compared %d of %d heads: a server refuses one it accepted before", compared, len(headerCases))
	}
}

// FuzzParseHeader checks the same on arbitrary request heads.
func FuzzParseHeader(f *testing.F) {
	for _, head := range headerCases {
		f.Add(head)
	}
	f.Fuzz(func(t *testing.T, head string) {
		want, wantHost, ok := netHTTPHeader(head)
		raw, chunked, fok := fasthttpRawHeader(head)
		if !ok || !fok {
			return
		}
		hd := parseHeader(raw, chunked)
		if !reflect.DeepEqual(hd.header, want) || hd.host != wantHost {
			t.Errorf("%q:\n got  %q host %q\n want %q host %q", head, hd.header, hd.host, want, wantHost)
		}
		if hd.contentType != first(want, "Content-Type") || hd.contentEncoding != first(want, "Content-Encoding") {
			t.Errorf("%q: Content-Type %q and Content-Encoding %q, want the header's first: %q", head, hd.contentType, hd.contentEncoding, want)
		}
	})
}

// FuzzCanonicalKey: canonicalKey is textproto.CanonicalMIMEHeaderKey.
func FuzzCanonicalKey(f *testing.F) {
	for _, k := range []string{"Content-Type", "content-type", "X-Trace-Id", "X-B3-TraceId", "Www-Authenticate", "ETag", "A", "", "-", "A-", "-A", "X--Y",
		"Host", "2fa", "X-2fa", "Content Type", "É-A", "Content-Type\x00"} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, k string) {
		if got, want := canonicalKey(k), textproto.CanonicalMIMEHeaderKey(k); got != want {
			t.Fatalf("%q: %q, textproto %q", k, got, want)
		}
	})
}

// first is h.Get(key) for a key already canonical.
func first(h http.Header, key string) string {
	if vs := h[key]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}
