package listen

import (
	"testing"
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
