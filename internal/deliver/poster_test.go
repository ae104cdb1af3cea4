package deliver

import (
	"context"
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
