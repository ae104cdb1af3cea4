package inspect

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/capture"
	"github.com/livecb/livecb/internal/listen"
)

// listener is a real livecb listener on loopback, optionally saving to a
// capture log and feeding an inspector.
type listener struct {
	srv  *listen.Server
	url  string
	save string
}

// startListener starts a listener; with in, it feeds *in (which may be set
// once the listener's capture log exists, before the first request) as
// listen --ui does: Prepare on each request's goroutine, Add in OnRequest.
func startListener(t testing.TB, save bool, in **Inspector) *listener {
	t.Helper()
	l := &listener{}
	opts := listen.Options{Addr: "127.0.0.1:0"}
	var cw *capture.Writer
	if save {
		l.save = filepath.Join(t.TempDir(), "capture.ndjson")
		var err error
		if cw, err = capture.Create(l.save, false); err != nil {
			t.Fatal(err)
		}
		opts.Capture = cw
	}
	if in != nil {
		opts.Prepare = func(r *listen.Request) any { return (*in).Prepare(r) }
		opts.OnRequest = func(r *listen.Request, _ *listen.Stats) { (*in).Add(r) }
	}
	srv, err := listen.Listen(opts)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		if cw != nil {
			cw.Close()
		}
	})
	l.srv, l.url = srv, srv.URL()
	return l
}

// post sends a callback and returns the answer's status.
func post(t testing.TB, url string, body []byte, header ...string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// captureOf makes a capture log the way users do: callbacks POSTed to a
// real listener with --save. bodies are posted to path in order.
func captureOf(t testing.TB, path string, bodies ...[]byte) string {
	t.Helper()
	l := startListener(t, true, nil)
	for _, b := range bodies {
		post(t, l.url+path, b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	return l.save
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
