package inspect

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/event"
)

// liveSetup is a real listener feeding an inspector served on loopback.
type liveSetup struct {
	l   *listener
	in  *Inspector
	srv *Server
	url string // the inspector's pages
}

func startLive(t testing.TB, opts ServerOptions) *liveSetup {
	t.Helper()
	s := &liveSetup{}
	var err error
	if s.in, err = NewLive(LiveOptions{}); err != nil {
		t.Fatal(err)
	}
	s.l = startListener(t, false, &s.in)
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if s.srv, err = NewServer(s.in, opts); err != nil {
		t.Fatal(err)
	}
	go s.srv.Serve()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.srv.Shutdown(ctx)
		s.in.Close()
	})
	s.url = s.srv.URL()
	return s
}

type call struct {
	method, path string
	header       map[string]string
	body         string
}

func (s *liveSetup) do(t testing.TB, c call) (int, string) {
	t.Helper()
	req, err := http.NewRequest(c.method, s.url+strings.TrimPrefix(c.path, "/"), strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range c.header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestPagesCarryAStrictPolicy(t *testing.T) {
	s := startLive(t, ServerOptions{Token: "t0ken"})
	res, err := http.Get(s.url)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	p := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self';", "object-src 'none'", "frame-ancestors 'none'"} {
		if !strings.Contains(p, want) {
			t.Errorf("policy %q lacks %q", p, want)
		}
	}
	if strings.Contains(p, "unsafe-inline") || strings.Contains(p, "unsafe-eval") {
		t.Errorf("policy %q allows inline script or eval", p)
	}
	if !bytes.Contains(page, []byte(`<meta name="livecb-token" content="t0ken">`)) || bytes.Contains(page, []byte("<script>")) {
		t.Errorf("page:\n%s", page)
	}
	if res.Header.Get("X-Content-Type-Options") != "nosniff" || res.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("headers %v", res.Header)
	}
}

// State-changing requests need the run's token and must come from the
// inspector's own origin; names that are not addresses are refused (DNS
// rebinding); a cross-site read of the API is refused too.
func TestCrossSiteRequestsAreRefused(t *testing.T) {
	rcv := newReceiver(t)
	s := startLive(t, ServerOptions{Token: "t0ken", ForwardTo: rcv.srv.URL})
	post(t, s.l.url+"/stream", body(t, event.PublishStarted))
	waitFor(t, "the request", func() bool { return s.in.Len() == 1 })
	host := strings.TrimPrefix(strings.TrimSuffix(s.url, "/"), "http://")
	resend := `{"id":0,"body":"{}"}`
	json := map[string]string{"Content-Type": "application/json"}
	with := func(extra map[string]string) map[string]string {
		h := map[string]string{"Content-Type": "application/json", TokenHeader: "t0ken"}
		for k, v := range extra {
			h[k] = v
		}
		return h
	}
	for _, c := range []struct {
		name string
		call call
		want int
	}{
		{"no token", call{"POST", "/api/resend", json, resend}, 403},
		{"wrong token", call{"POST", "/api/resend", with(map[string]string{TokenHeader: "guess"}), resend}, 403},
		{"foreign origin", call{"POST", "/api/resend", with(map[string]string{"Origin": "http://evil.example"}), resend}, 403},
		{"cross-site fetch", call{"POST", "/api/resend", with(map[string]string{"Sec-Fetch-Site": "cross-site"}), resend}, 403},
		{"form post", call{"POST", "/api/resend", map[string]string{"Content-Type": "application/x-www-form-urlencoded", TokenHeader: "t0ken"}, "id=0"}, 415},
		{"rebound name", call{"POST", "/api/resend", with(map[string]string{"Host": "evil.example:" + host[strings.LastIndexByte(host, ':')+1:]}), resend}, 403},
		{"rebound name, read", call{"GET", "/api/requests", map[string]string{"Host": "attacker.example"}, ""}, 403},
		{"cross-site read", call{"GET", "/api/requests/0", map[string]string{"Sec-Fetch-Site": "cross-site"}, ""}, 403},
		{"check without token", call{"POST", "/api/check", json, `{"body":"{}"}`}, 403},
		{"GET resend", call{"GET", "/api/resend", nil, ""}, 405},
		{"same origin", call{"POST", "/api/resend", with(map[string]string{"Origin": "http://" + host, "Sec-Fetch-Site": "same-origin"}), resend}, 200},
		{"localhost", call{"GET", "/api/info", map[string]string{"Host": "localhost:4040"}, ""}, 200},
	} {
		if got, b := s.do(t, c.call); got != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, got, b, c.want)
		}
	}
	if got, _ := rcv.got(); len(got) != 1 || string(got[0]) != "{}" {
		t.Errorf("the receiver got %q; want only the one allowed resend", got)
	}
}

func TestResendAndCheck(t *testing.T) {
	rcv := newReceiver(t)
	s := startLive(t, ServerOptions{Token: "k", ForwardTo: rcv.srv.URL})
	orig := body(t, event.RecordDone)
	post(t, s.l.url+"/record?x=1", orig, "Authorization", "Bearer abc", "User-Agent", "JDCloud")
	waitFor(t, "the request", func() bool { return s.in.Len() == 1 })
	h := map[string]string{"Content-Type": "application/json", TokenHeader: "k"}

	// As received, to the forward target (with the request's path).
	st, b := s.do(t, call{"POST", "/api/resend", h, `{"id":0}`})
	var res ResendResult
	if err := json.Unmarshal([]byte(b), &res); st != 200 || err != nil || res.Status != 202 || res.Edited || res.URL != rcv.srv.URL+"/record?x=1" || res.Answer != "stored\n" {
		t.Fatalf("%d %s", st, b)
	}
	got, heads := rcv.got()
	if !bytes.Equal(got[0], orig) || heads[0].Get("Authorization") != "Bearer abc" || heads[0].Get("User-Agent") != "JDCloud" {
		t.Errorf("received %q %v", got[0], heads[0])
	}
	// Edited, to a URL typed in: exactly the edited bytes.
	edited := `{"event":"record_done", "n": 163594946396839936123}`
	req, _ := json.Marshal(map[string]any{"id": 0, "url": rcv.srv.URL + "/other", "body": edited})
	st, b = s.do(t, call{"POST", "/api/resend", h, string(req)})
	json.Unmarshal([]byte(b), &res)
	if got, _ := rcv.got(); st != 200 || !res.Edited || len(got) != 2 || string(got[1]) != edited || res.Check.Valid {
		t.Errorf("%d %s; received %q", st, b, got)
	}
	// Check: findings of a body as typed.
	st, b = s.do(t, call{"POST", "/api/check", h, `{"body":"{\"event\":\"publish_done\",\"eventTime\":\"1\"}"}`})
	var cr CheckResult
	json.Unmarshal([]byte(b), &cr)
	if st != 200 || cr.Kind != "publish_done" || cr.Valid || len(cr.Findings) == 0 {
		t.Errorf("check: %d %s", st, b)
	}
	// Bad requests say what is wrong.
	for _, c := range []struct{ body, want string }{
		{`{"id":0,"url":"ftp://x"}`, "not an absolute http(s) URL"},
		{`{"id":99}`, "no longer held"},
		{`{"url":"http://x"}`, "which request"},
		{`nope`, "not a JSON request"},
	} {
		if _, b := s.do(t, call{"POST", "/api/resend", h, c.body}); !strings.Contains(b, c.want) {
			t.Errorf("%s: %s, want %q", c.body, b, c.want)
		}
	}
	if st, _ := s.do(t, call{"POST", "/api/check", h, `{"body":"` + strings.Repeat("x", maxPostBytes) + `"}`}); st != http.StatusRequestEntityTooLarge {
		t.Errorf("an oversized check: %d, want 413", st)
	}
}

// A resend is bounded: a receiver that never answers costs the timeout, one
// that answers forever is cut to an excerpt.
func TestResendIsBounded(t *testing.T) {
	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hang }))
	defer slow.Close()
	defer close(hang)
	huge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("y"), 64<<10)
		for i := 0; i < 1024; i++ { // 64 MiB, more than deliver drains
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer huge.Close()
	s := startLive(t, ServerOptions{Token: "k", ResendTimeout: 500 * time.Millisecond})
	post(t, s.l.url+"/x", []byte(`{}`))
	waitFor(t, "the request", func() bool { return s.in.Len() == 1 })
	h := map[string]string{"Content-Type": "application/json", TokenHeader: "k"}
	var res ResendResult
	_, b := s.do(t, call{"POST", "/api/resend", h, `{"id":0,"url":"` + slow.URL + `"}`})
	if json.Unmarshal([]byte(b), &res); res.Cause != "timeout" || res.Error != "timeout after 500ms: the receiver did not answer in time" {
		t.Errorf("hanging receiver: %s", b)
	}
	_, b = s.do(t, call{"POST", "/api/resend", h, `{"id":0,"url":"` + huge.URL + `"}`})
	if json.Unmarshal([]byte(b), &res); res.Status != 200 || len(res.Answer) > 512 {
		t.Errorf("endless answer: status %d, %d bytes kept", res.Status, len(res.Answer))
	}
}

func TestEventStreamNotifiesAndIsCapped(t *testing.T) {
	s := startLive(t, ServerOptions{MaxSSE: 2})
	open := func() (*http.Response, *bufio.Reader) {
		res, err := http.Get(s.url + "api/events")
		if err != nil {
			t.Fatal(err)
		}
		return res, bufio.NewReader(res.Body)
	}
	r1, b1 := open()
	defer r1.Body.Close()
	r2, _ := open()
	defer r2.Body.Close()
	r3, _ := open()
	r3.Body.Close()
	if r1.StatusCode != 200 || r1.Header.Get("Content-Type") != "text/event-stream" || r3.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("streams: %d %q, third %d", r1.StatusCode, r1.Header.Get("Content-Type"), r3.StatusCode)
	}
	next := func() string {
		for {
			line, err := b1.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(line, "data: ") {
				return strings.TrimSpace(line)
			}
		}
	}
	if got := next(); got != `data: {"total":0}` {
		t.Errorf("first event %q", got)
	}
	post(t, s.l.url+"/stream", body(t, event.PublishStarted))
	for got := next(); got != `data: {"total":1}`; got = next() {
	}
	// A slot frees when a page leaves.
	r2.Body.Close()
	waitFor(t, "a free slot", func() bool {
		r, err := http.Get(s.url + "api/events")
		if err != nil {
			return false
		}
		r.Body.Close()
		return r.StatusCode == 200
	})
}

// The server's own timeouts hold against a client that sends its headers
// slowly.
func TestServerDropsSlowHeaders(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the read-header timeout")
	}
	defer func(d time.Duration) { readHeaderTimeout = d }(readHeaderTimeout)
	readHeaderTimeout = 300 * time.Millisecond
	s := startLive(t, ServerOptions{})
	conn, err := net.Dial("tcp", strings.TrimSuffix(strings.TrimPrefix(s.url, "http://"), "/"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, err = conn.Read(make([]byte, 1))
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the server kept a connection that never finished its headers")
	}
}
