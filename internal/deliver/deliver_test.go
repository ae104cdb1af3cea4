package deliver

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type received struct {
	mu     sync.Mutex
	bodies [][]byte
	heads  []http.Header
	hosts  []string
}

func (r *received) record(req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bodies = append(r.bodies, b)
	r.heads = append(r.heads, req.Header.Clone())
	r.hosts = append(r.hosts, req.Host)
}

func TestDoSendsBodyAndHeadersExactly(t *testing.T) {
	var got received
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost {
			t.Errorf("method %s, want POST", req.Method)
		}
		got.record(req)
		io.WriteString(w, `{"code":0}`)
	}))
	defer srv.Close()

	body := []byte(`{"taskExternalId":163594946396839937,"fileSize":12345678901234567890}`)
	c := NewClient(Policy{UserAgent: "livecb/test", Header: http.Header{"X-Token": {"abc"}, "User-Agent": {"custom/1"}}})
	res := c.Do(context.Background(), Request{URL: srv.URL + "/cb", Body: body, Header: http.Header{"X-Token": {"override"}, "Host": {"receiver.example"}}}, nil)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if res.Status != 200 || string(res.Excerpt) != `{"code":0}` || len(res.Attempts) != 1 {
		t.Fatalf("result %+v", res)
	}
	if string(got.bodies[0]) != string(body) {
		t.Fatalf("body %s, want %s", got.bodies[0], body)
	}
	h := got.heads[0]
	for k, want := range map[string]string{"Content-Type": "application/json", "User-Agent": "custom/1", "X-Token": "override"} {
		if h.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, h.Get(k), want)
		}
	}
	if len(h.Values("X-Token")) != 1 {
		t.Errorf("X-Token sent %d times: %q", len(h.Values("X-Token")), h.Values("X-Token"))
	}
	if got.hosts[0] != "receiver.example" {
		t.Errorf("Host %q, want receiver.example", got.hosts[0])
	}
}

func TestDoDefaultUserAgentAndContentType(t *testing.T) {
	var got received
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { got.record(req) }))
	defer srv.Close()
	res := NewClient(Policy{UserAgent: "livecb/1.2.3"}).Do(context.Background(), Request{URL: srv.URL, Body: []byte("x"), ContentType: "text/plain"}, nil)
	if res.Err != nil || res.Status != 200 {
		t.Fatalf("%+v", res)
	}
	if ua := got.heads[0].Get("User-Agent"); ua != "livecb/1.2.3" {
		t.Errorf("User-Agent %q", ua)
	}
	if ct := got.heads[0].Get("Content-Type"); ct != "text/plain" {
		t.Errorf("Content-Type %q", ct)
	}
}

func TestDoRetriesFiveHundredsThenSucceeds(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if calls.Add(1) <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	var seen []Attempt
	res := NewClient(Policy{Retries: 3, Backoff: time.Millisecond}).Do(context.Background(), Request{URL: srv.URL, Body: []byte("{}")},
		func(n int, a Attempt) {
			if n != len(seen)+1 {
				t.Errorf("attempt numbered %d, want %d", n, len(seen)+1)
			}
			seen = append(seen, a)
		})
	if res.Status != 200 || res.Err != nil {
		t.Fatalf("%+v", res)
	}
	if calls.Load() != 3 || len(seen) != 3 || len(res.Attempts) != 3 {
		t.Fatalf("calls %d, reported %d, attempts %d; want 3", calls.Load(), len(seen), len(res.Attempts))
	}
	if seen[0].Status != 503 || seen[1].Status != 503 || seen[2].Status != 200 {
		t.Fatalf("attempts %+v", seen)
	}
}

func TestDoGivesUpAfterRetriesAndDoesNotRetry4xx(t *testing.T) {
	for _, tc := range []struct {
		status, retries int
		wantCalls       int32
	}{{500, 2, 3}, {404, 2, 1}, {503, 0, 1}} {
		var calls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			calls.Add(1)
			w.WriteHeader(tc.status)
		}))
		res := NewClient(Policy{Retries: tc.retries, Backoff: time.Millisecond}).Do(context.Background(), Request{URL: srv.URL}, nil)
		srv.Close()
		if res.Status != tc.status || res.Err != nil || calls.Load() != tc.wantCalls {
			t.Errorf("status %d retries %d: got status %d err %v after %d calls, want %d calls", tc.status, tc.retries, res.Status, res.Err, calls.Load(), tc.wantCalls)
		}
	}
}

func TestDoBackoffDoubles(t *testing.T) {
	var times []time.Time
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		times = append(times, time.Now())
		mu.Unlock()
		w.WriteHeader(500)
	}))
	defer srv.Close()
	NewClient(Policy{Retries: 2, Backoff: 50 * time.Millisecond}).Do(context.Background(), Request{URL: srv.URL}, nil)
	if len(times) != 3 {
		t.Fatalf("%d calls", len(times))
	}
	// Generous lower bounds only: 50ms then 100ms.
	if d := times[1].Sub(times[0]); d < 50*time.Millisecond {
		t.Errorf("first wait %s, want >= 50ms", d)
	}
	if d := times[2].Sub(times[1]); d < 100*time.Millisecond {
		t.Errorf("second wait %s, want >= 100ms", d)
	}
}

func refusedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/cb"
}

func TestDoRefusedRetriesAndClassifies(t *testing.T) {
	u := refusedURL(t)
	n := 0
	res := NewClient(Policy{Retries: 2, Backoff: time.Millisecond}).Do(context.Background(), Request{URL: u}, func(int, Attempt) { n++ })
	if res.Err == nil || res.Cause != CauseRefused {
		t.Fatalf("cause %q err %v, want refused", res.Cause, res.Err)
	}
	if n != 3 || len(res.Attempts) != 3 || res.Attempts[0].Err == "" {
		t.Fatalf("attempts %+v (reported %d)", res.Attempts, n)
	}
}

func TestDoTimeoutAgainstHangingServer(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		select {
		case <-release:
		case <-req.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	start := time.Now()
	res := NewClient(Policy{Timeout: 100 * time.Millisecond}).Do(context.Background(), Request{URL: srv.URL}, nil)
	if res.Cause != CauseTimeout || res.Err == nil {
		t.Fatalf("cause %q err %v, want timeout", res.Cause, res.Err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("took %s", time.Since(start))
	}
}

func TestDoTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {}))
	defer srv.Close()
	res := NewClient(Policy{}).Do(context.Background(), Request{URL: srv.URL}, nil)
	if res.Cause != CauseTLS {
		t.Fatalf("unverified certificate: cause %q err %v, want TLS", res.Cause, res.Err)
	}
	res = NewClient(Policy{Insecure: true}).Do(context.Background(), Request{URL: srv.URL}, nil)
	if res.Err != nil || res.Status != 200 {
		t.Fatalf("--insecure: %+v", res)
	}
	// TLS spoken to a plain HTTP server.
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {}))
	defer plain.Close()
	res = NewClient(Policy{}).Do(context.Background(), Request{URL: strings.Replace(plain.URL, "http:", "https:", 1)}, nil)
	if res.Cause != CauseTLS {
		t.Fatalf("https to plain http: cause %q err %v, want TLS", res.Cause, res.Err)
	}
}

func TestDoBadURLIsNotRetried(t *testing.T) {
	for _, u := range []string{"localhost:8080/cb", "ftp://127.0.0.1/x", "http://", "::"} {
		n := 0
		res := NewClient(Policy{Retries: 3}).Do(context.Background(), Request{URL: u}, func(int, Attempt) { n++ })
		if res.Cause != CauseURL || n != 0 {
			t.Errorf("%q: cause %q after %d attempts, want bad URL and none", u, res.Cause, n)
		}
	}
}

func TestDoRedirects(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { io.WriteString(w, "other") }))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch req.URL.Path {
		case "/same":
			http.Redirect(w, req, "/final", http.StatusTemporaryRedirect)
		case "/away":
			http.Redirect(w, req, other.URL, http.StatusTemporaryRedirect)
		default:
			b, _ := io.ReadAll(req.Body)
			w.Write(b)
		}
	}))
	defer srv.Close()
	res := NewClient(Policy{}).Do(context.Background(), Request{URL: srv.URL + "/same", Body: []byte(`{"a":1}`)}, nil)
	if res.Err != nil || string(res.Excerpt) != `{"a":1}` {
		t.Fatalf("same-host redirect: %+v", res)
	}
	n := 0
	res = NewClient(Policy{Retries: 2}).Do(context.Background(), Request{URL: srv.URL + "/away"}, func(int, Attempt) { n++ })
	if res.Cause != CauseRedirect || n != 1 {
		t.Fatalf("other-host redirect: cause %q after %d attempts, want redirect refused, once", res.Cause, n)
	}
	res = NewClient(Policy{FollowRedirects: true}).Do(context.Background(), Request{URL: srv.URL + "/away"}, nil)
	if res.Err != nil || string(res.Excerpt) != "other" {
		t.Fatalf("followed redirect: %+v", res)
	}
}

func TestDoExcerptIsBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		io.WriteString(w, strings.Repeat("x", 10000))
	}))
	defer srv.Close()
	res := NewClient(Policy{}).Do(context.Background(), Request{URL: srv.URL}, nil)
	if len(res.Excerpt) != ExcerptSize {
		t.Fatalf("excerpt %d bytes, want %d", len(res.Excerpt), ExcerptSize)
	}
}

func TestDoStopsWhenContextEnds(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { w.WriteHeader(500) }))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	res := NewClient(Policy{Retries: 5, Backoff: time.Hour}).Do(ctx, Request{URL: srv.URL}, func(int, Attempt) {
		n++
		cancel()
	})
	if n != 1 || res.Status != 500 {
		t.Fatalf("%d attempts, status %d; want 1 and 500", n, res.Status)
	}
}

func TestParseExpect(t *testing.T) {
	for _, tc := range []struct {
		spec string
		yes  []int
		no   []int
	}{
		{"200", []int{200}, []int{201, 204, 500}},
		{"2xx", []int{200, 204, 299}, []int{300, 199, 500}},
		{"200, 204", []int{200, 204}, []int{201}},
		{"2XX,404", []int{201, 404}, []int{400}},
	} {
		e, err := ParseExpect(tc.spec)
		if err != nil {
			t.Fatalf("%q: %v", tc.spec, err)
		}
		for _, s := range tc.yes {
			if !e.Match(s) {
				t.Errorf("%q should match %d", tc.spec, s)
			}
		}
		for _, s := range tc.no {
			if e.Match(s) {
				t.Errorf("%q should not match %d", tc.spec, s)
			}
		}
		if e.String() != tc.spec {
			t.Errorf("String() = %q", e.String())
		}
	}
	for _, bad := range []string{"", "ok", "99", "600", "6xx", "200,", "2x"} {
		if _, err := ParseExpect(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestClassify(t *testing.T) {
	if c := classify(errors.New("something odd"), stageConnect); c != CauseOther {
		t.Errorf("got %q", c)
	}
	if c := classify(context.DeadlineExceeded, stageHead); c != CauseTimeout {
		t.Errorf("got %q", c)
	}
}
