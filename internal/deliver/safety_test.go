package deliver_test

// Safe defaults of everything that sends: a redirect to another host is not
// followed, and TLS certificates are verified unless --insecure, for every
// command that delivers callbacks (send, replay, test, listen --forward-to),
// run in-process through cli.Main against real loopback servers.

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/cli"
	"github.com/livecb/livecb/internal/deliver"
	"github.com/livecb/livecb/internal/event"
)

func livecb(t *testing.T, args ...string) (code int, out, errOut string) {
	t.Helper()
	var o, e bytes.Buffer
	code = cli.Main(args, cli.Streams{In: strings.NewReader(""), Out: &o, Err: &e,
		Getenv: func(string) string { return "" }}, cli.BuildInfo{Version: "test"})
	return code, o.String(), e.String()
}

// counter is a receiver that counts what reaches it.
func counter(t *testing.T, tls bool) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		n.Add(1)
	})
	s := httptest.NewUnstartedServer(h)
	// Refused handshakes are the point of the test, not news.
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	if tls {
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(s.Close)
	return s, &n
}

// captureFile writes a one-callback NDJSON file for replay.
func captureFile(t *testing.T) string {
	t.Helper()
	body, err := event.Sample(event.PublishDone, event.NewStream(time.Now(), nil))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "one.ndjson")
	if err := os.WriteFile(path, append(body, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// commands are the ways livecb delivers a callback to url, with extra flags.
func commands(t *testing.T) map[string]func(url string, extra ...string) []string {
	file := captureFile(t)
	return map[string]func(string, ...string) []string{
		"send": func(url string, extra ...string) []string {
			return append([]string{"send", "publish_done", "--to", url}, extra...)
		},
		"replay": func(url string, extra ...string) []string {
			return append([]string{"replay", file, "--to", url}, extra...)
		},
		"test": func(url string, extra ...string) []string {
			return append([]string{"test", "--to", url, "--run", "^sample/publish_done$", "--timeout", "2s"}, extra...)
		},
	}
}

// TestNoRedirectToAnotherHost: a receiver that redirects elsewhere does
// not get the callback delivered to the other host.
func TestNoRedirectToAnotherHost(t *testing.T) {
	other, hits := counter(t, false)
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/stolen", http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()

	// The zero Policy is the safe one.
	res := deliver.NewClient(deliver.Policy{}).Do(context.Background(), deliver.Request{URL: redirector.URL, Body: []byte("{}")}, nil)
	if res.Cause != deliver.CauseRedirect {
		t.Errorf("deliver default: cause %q (%v), want redirect refused", res.Cause, res.Err)
	}
	for name, args := range commands(t) {
		code, out, errOut := livecb(t, args(redirector.URL+"/cb")...)
		if code == 0 {
			t.Errorf("%s: exit 0 although the receiver only redirected to another host\n%s%s", name, out, errOut)
		}
		if !strings.Contains(out+errOut, "redirect") {
			t.Errorf("%s: the output does not say the redirect was refused:\n%s%s", name, out, errOut)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the other host got %d callbacks", n)
	}
	// listen --forward-to does not follow it either: the sender gets 502.
	code, _, errOut := listenForward(t, redirector.URL)
	if code != http.StatusBadGateway {
		t.Errorf("listen --forward-to a redirecting receiver answered %d: %s", code, errOut)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the other host got %d forwarded callbacks", n)
	}
}

// TestFollowRedirectsWhenAsked: --follow-redirects on send and replay
// delivers to the other host.
func TestFollowRedirectsWhenAsked(t *testing.T) {
	other, hits := counter(t, false)
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/moved", http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()
	cmds := commands(t)
	for _, name := range []string{"send", "replay"} {
		code, out, errOut := livecb(t, cmds[name](redirector.URL+"/cb", "--follow-redirects")...)
		if code != 0 {
			t.Errorf("%s --follow-redirects: exit %d\n%s%s", name, code, out, errOut)
		}
	}
	if n := hits.Load(); n != 2 {
		t.Errorf("the other host got %d callbacks, want 2", n)
	}
}

// TestTLSIsVerifiedUnlessInsecure: a receiver with a certificate nobody
// signed is refused; --insecure (where offered) accepts it.
func TestTLSIsVerifiedUnlessInsecure(t *testing.T) {
	srv, hits := counter(t, true)
	res := deliver.NewClient(deliver.Policy{}).Do(context.Background(), deliver.Request{URL: srv.URL, Body: []byte("{}")}, nil)
	if res.Cause != deliver.CauseTLS {
		t.Errorf("deliver default: cause %q (%v), want TLS", res.Cause, res.Err)
	}
	cmds := commands(t)
	for name, args := range cmds {
		code, out, errOut := livecb(t, args(srv.URL+"/cb")...)
		if code != cli.ExitNetwork {
			t.Errorf("%s to an unverified certificate: exit %d, want %d\n%s%s", name, code, cli.ExitNetwork, out, errOut)
		}
		if !strings.Contains(out+errOut, "TLS") && !strings.Contains(out+errOut, "certificate") {
			t.Errorf("%s: the output does not name the TLS failure:\n%s%s", name, out, errOut)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the receiver got %d callbacks over an unverified connection", n)
	}
	for _, name := range []string{"send", "replay"} {
		if code, out, errOut := livecb(t, cmds[name](srv.URL+"/cb", "--insecure")...); code != 0 {
			t.Errorf("%s --insecure: exit %d\n%s%s", name, code, out, errOut)
		}
	}
	if n := hits.Load(); n != 2 {
		t.Errorf("with --insecure the receiver got %d callbacks, want 2", n)
	}
	// listen --forward-to verifies too.
	if code, _, errOut := listenForward(t, srv.URL); code != http.StatusBadGateway {
		t.Errorf("listen --forward-to an unverified certificate answered %d: %s", code, errOut)
	}
}

// listenForward runs `livecb listen --forward-to target --count 1`, posts
// one callback and returns the status the sender got.
func listenForward(t *testing.T, target string) (status int, out, errOut string) {
	t.Helper()
	ready := filepath.Join(t.TempDir(), "url")
	var o, e bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Main([]string{"listen", "--port", "0", "--ready-file", ready, "--forward-to", target, "--count", "1"},
			cli.Streams{In: strings.NewReader(""), Out: &o, Err: &e, Getenv: func(string) string { return "" }}, cli.BuildInfo{Version: "test"})
	}()
	var url string
	for i := 0; i < 1000 && url == ""; i++ {
		if b, err := os.ReadFile(ready); err == nil {
			url = strings.TrimSpace(string(b))
		} else {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if url == "" {
		t.Fatal("listen never got ready")
	}
	client := &http.Client{Timeout: 15 * time.Second}
	resp, err := client.Post(url+"/cb", "application/json", strings.NewReader(`{"event":"publish_done"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("listen did not stop")
	}
	return resp.StatusCode, o.String(), e.String()
}
