package deliver

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
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
	tgt, err := ParseTarget(srv.URL + "/cb?x=1")
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
	if _, err := ParseTarget("ftp://x/"); err == nil {
		t.Error("ftp URL accepted")
	}

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed, _ := ParseTarget("http://" + ln.Addr().String())
	ln.Close()
	if _, cause, err := p.Post(context.Background(), closed, nil); err == nil || cause != CauseRefused {
		t.Fatalf("closed port: %v %v", cause, err)
	}
}
