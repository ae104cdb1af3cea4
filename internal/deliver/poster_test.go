package deliver

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/wiretest"
)

func TestPosterHeadersBodyAndConnectionBound(t *testing.T) {
	var conns atomic.Int32
	var mu sync.Mutex
	var got []*http.Request
	var bodies []string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, bodies = append(got, r), append(bodies, string(b))
		mu.Unlock()
		w.WriteHeader(204)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	p, err := NewPoster(Policy{UserAgent: "livecb/test", Header: http.Header{"X-A": {"1"}, "Host": {"cb.example.com"}}, Expect: expect(t, "204")}, 3)
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := p.Target(srv.URL + "/cb?x=1")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if r := p.Post(context.Background(), tgt, []byte(`{"a":1}`)); r.Status != 204 || r.Err != nil || !r.Matched {
					t.Errorf("status %d, %v", r.Status, r.Err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(got) != 300 || conns.Load() > 3 {
		t.Fatalf("%d requests over %d connections (at most 3)", len(got), conns.Load())
	}
	r := got[0]
	if r.Method != "POST" || r.URL.String() != "/cb?x=1" || r.Host != "cb.example.com" || r.Header.Get("Content-Type") != "application/json" ||
		r.Header.Get("User-Agent") != "livecb/test" || r.Header.Get("X-A") != "1" || bodies[0] != `{"a":1}` || r.ContentLength != 7 {
		t.Fatalf("request %s %s host %s header %v body %q", r.Method, r.URL, r.Host, r.Header, bodies[0])
	}
	if _, err := p.Target("ftp://x/"); err == nil {
		t.Error("ftp URL accepted")
	}

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed, _ := p.Target("http://" + ln.Addr().String())
	ln.Close()
	if r := p.Post(context.Background(), closed, nil); r.Err == nil || r.Cause != CauseRefused {
		t.Fatalf("closed port: %v %v", r.Cause, r.Err)
	}
}

func TestPosterTLSTimeoutAndAnswerBodies(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-r.Context().Done():
			case <-time.After(2 * time.Second):
			}
			return
		}
		w.WriteHeader(201)
		io.WriteString(w, strings.Repeat("x", 100000)) // read and dropped
	}))
	defer srv.Close()
	p, _ := NewPoster(Policy{Insecure: true, Timeout: 300 * time.Millisecond, Expect: expect(t, "201")}, 2)
	tgt, _ := p.Target(srv.URL + "/cb")
	for i := 0; i < 5; i++ {
		if r := p.Post(context.Background(), tgt, []byte(`{}`)); r.Status != 201 || r.Err != nil || !r.Matched {
			t.Fatalf("status %d, %v", r.Status, r.Err)
		}
	}
	slow, _ := p.Target(srv.URL + "/slow")
	if r := p.Post(context.Background(), slow, []byte(`{}`)); r.Err == nil || r.Cause != CauseTimeout {
		t.Fatalf("slow receiver: %v %v", r.Cause, r.Err)
	}
	// The timed-out connection is not reused for the next answer.
	for i := 0; i < 3; i++ {
		if r := p.Post(context.Background(), tgt, []byte(`{}`)); r.Status != 201 || r.Err != nil || !r.Matched {
			t.Fatalf("after a timeout: status %d, %v", r.Status, r.Err)
		}
	}
	strict, _ := NewPoster(Policy{}, 1)
	tgt, _ = strict.Target(srv.URL + "/cb")
	if r := strict.Post(context.Background(), tgt, []byte(`{}`)); r.Err == nil || r.Cause != CauseTLS {
		t.Fatalf("self-signed certificate without --insecure: %v %v", r.Cause, r.Err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if r := p.Post(ctx, tgt, nil); r.Err == nil {
		t.Fatal("posted after the context ended")
	}
}

func expect(t *testing.T, spec string) Expect {
	t.Helper()
	e, err := ParseExpect(spec)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestPosterDoFollowsRedirectsAsTheClientDoes: a record's content type and
// header go with the redirected request (and its Host override only to a
// relative Location), a 303 drops the body and its headers, on both paths
// alike.
func TestPosterDoFollowsRedirectsAsTheClientDoes(t *testing.T) {
	s := wiretest.New(t, func(path string) string {
		switch path {
		case "/same":
			return "HTTP/1.1 307 Temporary Redirect\r\nLocation: /final\r\nContent-Length: 0\r\n\r\n"
		case "/see-other":
			return "HTTP/1.1 303 See Other\r\nLocation: /final\r\nContent-Length: 0\r\n\r\n"
		}
		return ok(path)
	})
	policy := Policy{UserAgent: "livecb/1.0"}
	for _, path := range []string{"/same", "/see-other"} {
		r := Request{URL: s.URL + path, Body: []byte(`{"a":1}`), ContentType: "application/json; charset=utf-8",
			Header: http.Header{"X-Record": {"7"}, "Host": {"cb.example.com"}}}
		c := NewClient(policy).Do(context.Background(), r, nil)
		p := posterDo(t, policy, r)
		if c.Err != nil || p.Err != nil || c.Status != 200 || p.Status != 200 || !p.Matched || len(p.Attempts) != 1 {
			t.Fatalf("%s: client %d %v, poster %d %v", path, c.Status, c.Err, p.Status, p.Err)
		}
		got := s.Take()
		if len(got) != 4 || got[0] != got[2] || got[1] != got[3] {
			t.Errorf("%s: the client and the poster wrote\n%q", path, got)
		}
		if !strings.Contains(got[3], "Host: cb.example.com\r\n") || !strings.Contains(got[3], "X-Record: 7\r\n") {
			t.Errorf("%s: the redirected request lost the record's header:\n%q", path, got[3])
		}
		if body := strings.Contains(got[3], "charset=utf-8"); body != (path == "/same") {
			t.Errorf("%s: the redirected request's Content-Type:\n%q", path, got[3])
		}
	}
}

// TestPosterDoStopsWhenContextEnds: a request under way ends when its
// context does, as the Client's, and the cut connection is not reused;
// through Poster.Do and through a Sender's Do.
func TestPosterDoStopsWhenContextEnds(t *testing.T) {
	for _, withSender := range []bool{false, true} {
		t.Run(map[bool]string{false: "poster", true: "sender"}[withSender], func(t *testing.T) {
			testDoStops(t, withSender)
		})
	}
}

func testDoStops(t *testing.T, withSender bool) {
	release := make(chan struct{})
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			<-release
		}
		w.WriteHeader(200)
	}))
	defer srv.Close()
	defer close(release)
	p, err := NewPoster(Policy{Timeout: time.Minute}, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer p.CloseIdle()
	do := p.Do
	if withSender {
		s := p.NewSender()
		defer s.Close()
		do = s.Do
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	done := make(chan Result, 1)
	go func() { done <- do(ctx, Request{URL: srv.URL, Body: []byte(`{}`)}) }()
	select {
	case res := <-done:
		if !errors.Is(res.Err, context.Canceled) || res.Cause != CauseInterrupted || res.Matched || res.Unreachable() {
			t.Fatalf("cancelled: cause %q unreachable %v: %v", res.Cause, res.Unreachable(), res.Err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the request went on after its context ended")
	}
	if res := do(context.Background(), Request{URL: srv.URL, Body: []byte(`{}`)}); res.Err != nil || res.Status != 200 {
		t.Fatalf("after a cancelled request: %d %v", res.Status, res.Err)
	}
	if res := do(ctx, Request{URL: srv.URL}); !errors.Is(res.Err, context.Canceled) || n.Load() != 2 {
		t.Fatalf("sent with an ended context: %v (%d requests)", res.Err, n.Load())
	}
	// A context that ends after its requests were answered cuts nothing:
	// the connection serves the next request.
	ctx2, cancel2 := context.WithCancel(context.Background())
	if res := do(ctx2, Request{URL: srv.URL, Body: []byte(`{}`)}); res.Err != nil || res.Status != 200 {
		t.Fatalf("a live context: %d %v", res.Status, res.Err)
	}
	cancel2()
	if res := do(context.Background(), Request{URL: srv.URL, Body: []byte(`{}`)}); res.Err != nil || res.Status != 200 {
		t.Fatalf("after a context ended between requests: %d %v", res.Status, res.Err)
	}
}

// TestPosterDoRefusesBeforeSending: a bad URL and a host behind a proxy
// fail at once, with the Client's causes, and nothing is sent; the targets
// Do keeps checked stay bounded whatever the number of URLs.
func TestPosterDoRefusesBeforeSending(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n.Add(1) }))
	defer srv.Close()
	proxy, _ := url.Parse("http://proxy.example:3128")
	p, _ := NewPoster(Policy{Proxy: func(r *http.Request) (*url.URL, error) {
		if r.URL.Hostname() == "behind.example" {
			return proxy, nil
		}
		return nil, nil
	}}, 1)
	defer p.CloseIdle()
	var se *SettingError
	if res := p.Do(context.Background(), Request{URL: "http://behind.example/cb"}); res.Cause != CauseSetting || !errors.As(res.Err, &se) || se.Setting != SettingProxy {
		t.Errorf("behind a proxy: %q %v", res.Cause, res.Err)
	}
	var ue *URLError
	if res := p.Do(context.Background(), Request{URL: "ftp://x/"}); res.Cause != CauseURL || !errors.As(res.Err, &ue) {
		t.Errorf("a bad URL: %q %v", res.Cause, res.Err)
	}
	if n.Load() != 0 {
		t.Fatalf("%d requests sent", n.Load())
	}
	for i := 0; i < maxTargets+10; i++ {
		if res := p.Do(context.Background(), Request{URL: srv.URL + "/" + strconv.Itoa(i)}); res.Err != nil {
			t.Fatal(res.Err)
		}
	}
	if len(p.targets) > maxTargets || n.Load() != maxTargets+10 {
		t.Errorf("%d targets kept (at most %d), %d requests", len(p.targets), maxTargets, n.Load())
	}
}

// TestSenderWritesWhatTheClientWrites: a Sender keeps its request between
// posts and changes only the body and its length; what it writes is what
// the Client writes for each post, across bodies of other lengths, another
// target, a redirect (which rebuilds the request) and back.
func TestSenderWritesWhatTheClientWrites(t *testing.T) {
	s := movedReceiver(t)
	policy := Policy{UserAgent: "livecb/1.0", Header: http.Header{"X-A": {"1", "2"}, "Authorization": {"Bearer s"}}}
	p, err := NewPoster(policy, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer p.CloseIdle()
	targets := map[string]*Target{}
	for _, path := range []string{"/cb?a=1", "/other", "/moved"} {
		tgt, err := p.Target(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		targets[path] = &tgt
	}
	sender := p.NewSender()
	defer sender.Close()
	client := NewClient(policy)
	for i, step := range []struct{ path, body string }{
		{"/cb?a=1", `{"a":1}`}, {"/cb?a=1", `{"a":12345}`}, {"/cb?a=1", `{}`}, {"/other", `{"b":2}`},
		{"/cb?a=1", `{"a":1}`}, {"/moved", `{"c":3}`}, {"/moved", `{"c":34}`}, {"/cb?a=1", ``},
	} {
		res := sender.Post(context.Background(), targets[step.path], []byte(step.body))
		if res.Err != nil || !res.Matched {
			t.Fatalf("post %d: %d %v", i, res.Status, res.Err)
		}
		viaSender := s.Take()
		if c := client.Do(context.Background(), Request{URL: s.URL + step.path, Body: []byte(step.body)}, nil); c.Err != nil {
			t.Fatal(c.Err)
		}
		viaClient := s.Take()
		if strings.Join(viaSender, "|") != strings.Join(viaClient, "|") {
			t.Errorf("post %d to %s:\nthe Sender wrote %q\nthe Client      %q", i, step.path, viaSender, viaClient)
		}
	}
}

// TestSenderDoWritesWhatTheClientWrites: a Sender's Do, as a replay's
// workers send, with each request's own URL and content type (the same
// again, then another, then back), writes what the Client writes.
func TestSenderDoWritesWhatTheClientWrites(t *testing.T) {
	s := wiretest.New(t, ok)
	policy := Policy{UserAgent: "livecb/1.0", Header: http.Header{"X-A": {"1"}}}
	p, err := NewPoster(policy, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer p.CloseIdle()
	sender := p.NewSender()
	defer sender.Close()
	client := NewClient(policy)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i, r := range []Request{
		{URL: s.URL + "/cb", Body: []byte(`{"a":1}`)},
		{URL: s.URL + "/cb", Body: []byte(`{"a":123}`)},
		{URL: s.URL + "/cb", Body: []byte(`{"a":1}`), ContentType: "text/plain; charset=latin1"},
		{URL: s.URL + "/cb/stream?x=1", Body: []byte(`{}`), ContentType: "application/json; charset=utf-8"},
		{URL: s.URL + "/cb", Body: []byte(`{"b":2}`), Header: http.Header{"X-Own": {"y"}}},
		{URL: s.URL + "/cb", Body: []byte(`{"a":12}`)},
	} {
		if res := sender.Do(ctx, r); res.Err != nil || !res.Matched || len(res.Attempts) != 1 {
			t.Fatalf("request %d: %d %v", i, res.Status, res.Err)
		}
		viaSender := s.Take()
		if c := client.Do(ctx, r, nil); c.Err != nil {
			t.Fatal(c.Err)
		}
		if viaClient := s.Take(); strings.Join(viaSender, "|") != strings.Join(viaClient, "|") {
			t.Errorf("request %d:\nthe Sender wrote %q\nthe Client      %q", i, viaSender, viaClient)
		}
	}
}
