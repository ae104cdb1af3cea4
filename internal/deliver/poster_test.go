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

	p := NewPoster(Options{MaxConns: 3, UserAgent: "livecb/test", Header: http.Header{"X-A": {"1"}, "Host": {"cb.example.com"}}})
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
				if status, _, err := p.Post(context.Background(), tgt, []byte(`{"a":1}`)); status != 204 || err != nil {
					t.Errorf("status %d, %v", status, err)
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
	if _, cause, err := p.Post(context.Background(), closed, nil); err == nil || cause != CauseRefused {
		t.Fatalf("closed port: %v %v", cause, err)
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
	p := NewPoster(Options{MaxConns: 2, Insecure: true, Timeout: 300 * time.Millisecond})
	tgt, _ := p.Target(srv.URL + "/cb")
	for i := 0; i < 5; i++ {
		if status, _, err := p.Post(context.Background(), tgt, []byte(`{}`)); status != 201 || err != nil {
			t.Fatalf("status %d, %v", status, err)
		}
	}
	slow, _ := p.Target(srv.URL + "/slow")
	if _, cause, err := p.Post(context.Background(), slow, []byte(`{}`)); err == nil || cause != CauseTimeout {
		t.Fatalf("slow receiver: %v %v", cause, err)
	}
	// The timed-out connection is not reused for the next answer.
	for i := 0; i < 3; i++ {
		if status, _, err := p.Post(context.Background(), tgt, []byte(`{}`)); status != 201 || err != nil {
			t.Fatalf("after a timeout: status %d, %v", status, err)
		}
	}
	strict := NewPoster(Options{MaxConns: 1})
	tgt, _ = strict.Target(srv.URL + "/cb")
	if _, cause, err := strict.Post(context.Background(), tgt, []byte(`{}`)); err == nil || cause != CauseTLS {
		t.Fatalf("self-signed certificate without --insecure: %v %v", cause, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := p.Post(ctx, tgt, nil); err == nil {
		t.Fatal("posted after the context ended")
	}
}
