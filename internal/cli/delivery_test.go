package cli

// The delivery policy as the commands apply it: one URL rule, one set of
// headers, the same redirects, bounds and failures for single sends, load
// mode, replay, test and listen's forwarding, and the environment only as
// the streams give it.

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/capture"
	"github.com/livecb/livecb/internal/deliver"
	"github.com/livecb/livecb/internal/deliver/delivertest"
)

// runEnv runs livecb in-process with the environment env (and nothing of
// the process's).
func runEnv(t *testing.T, env map[string]string, args ...string) run {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Chdir(t.TempDir())
	var out, errb bytes.Buffer
	code := Main(args, Streams{In: strings.NewReader(""), Out: &out, Err: &errb,
		Getenv: func(k string) string { return env[k] }}, BuildInfo{Version: "test"})
	return run{code, out.String(), errb.String()}
}

// peer starts the hostile peer of the delivery table named name.
func peer(t *testing.T, name string) string {
	t.Helper()
	for _, p := range delivertest.Peers() {
		if p.Name == name {
			return p.Start(t)
		}
	}
	t.Fatalf("no peer %s", name)
	return ""
}

// oneCapture writes a capture log of the given targets, one callback each.
func oneCapture(t *testing.T, targets ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cap.ndjson")
	w, err := capture.Create(path, false)
	if err != nil {
		t.Fatal(err)
	}
	body := sampleBody(t, "publish_done")
	for i, target := range targets {
		r := &capture.Record{Time: time.Date(2024, 5, 14, 8, 0, i, 0, time.UTC), Method: "POST", Target: target,
			Remote: "127.0.0.1:5000", Header: http.Header{"Content-Type": {"application/json"}}, Size: int64(len(body))}
		r.SetBody(body)
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestDeliveryURLRuleIsOneRule: a URL that is not absolute http(s) is a
// usage error (exit 2) for every command, with the same fix.
func TestDeliveryURLRuleIsOneRule(t *testing.T) {
	file := oneCapture(t, "/cb")
	for _, args := range [][]string{
		{"send", "publish_done", "--to", "ftp://x/cb"},
		{"send", "publish_done", "--count", "2", "--to", "ftp://x/cb"},
		{"replay", file, "--to", "ftp://x/cb"},
		{"test", "--to", "ftp://x/cb"},
		{"listen", "--port", "0", "--forward-to", "ftp://x/cb"},
	} {
		res := runEnv(t, nil, args...)
		if res.code != ExitUsage || !strings.Contains(res.err, `--to "ftp://x/cb" is not an absolute http(s) URL (scheme ftp): write it as http://host:port/path`) &&
			!strings.Contains(res.err, `--forward-to "ftp://x/cb" is not an absolute http(s) URL (scheme ftp)`) {
			t.Errorf("%v: exit %d\n%s", args, res.code, res.err)
		}
	}
}

// TestDeliveryIncompleteAnswerFails: an answer whose body stops coming
// is no answer, for every command.
func TestDeliveryIncompleteAnswerFails(t *testing.T) {
	url := peer(t, "body-cut-by-the-timeout")
	file := oneCapture(t, "/cb", "/cb")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"send", "publish_done", "--to", url, "--timeout", "1s"}, ExitNetwork, "timeout"},
		{[]string{"send", "publish_done", "--count", "2", "--concurrency", "1", "--to", url, "--timeout", "1s"}, ExitNetwork, "timeout: 2"},
		{[]string{"replay", file, "--to", url, "--timeout", "1s"}, ExitCheckFailed, "2 failed"},
		{[]string{"test", "--to", url, "--run", "^sample/publish_done$", "--timeout", "1s"}, ExitCheckFailed, "FAIL"},
	} {
		res := runEnv(t, nil, tc.args...)
		if res.code != tc.code || !strings.Contains(res.out+res.err, tc.want) {
			t.Errorf("%v: exit %d, want %d and %q\n%s%s", tc.args, res.code, tc.code, tc.want, res.out, res.err)
		}
	}
}

// TestDeliveryLoadModeSurvivesAHostileReceiver: a Content-Length of 9e18
// is a failure of each request, not a crash of livecb.
func TestDeliveryLoadModeSurvivesAHostileReceiver(t *testing.T) {
	for _, name := range []string{"content-length-9e18", "body-of-zeros-forever", "content-length-twice"} {
		url := peer(t, name)
		res := runEnv(t, nil, "send", "publish_done", "--count", "3", "--concurrency", "2", "--to", url, "--timeout", "2s")
		want := ExitCheckFailed // an answer came, and it was wrong
		if name == "body-of-zeros-forever" {
			want = ExitCheckFailed
		}
		if res.code != want || !strings.Contains(res.out, "no answer") {
			t.Errorf("%s: exit %d\n%s%s", name, res.code, res.out, res.err)
		}
	}
}

// TestDeliveryLoadModeFollowsRedirects as a single send does.
func TestDeliveryLoadModeFollowsRedirects(t *testing.T) {
	var r receiver
	final := r.handler(200)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/final" {
			final(w, req)
			return
		}
		http.Redirect(w, req, "/final", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	for _, args := range [][]string{
		{"send", "publish_done", "--to", srv.URL + "/cb", "--follow-redirects"},
		{"send", "publish_done", "--count", "3", "--to", srv.URL + "/cb", "--follow-redirects"},
		{"send", "publish_done", "--count", "3", "--to", srv.URL + "/cb"},
	} {
		if res := runEnv(t, nil, args...); res.code != 0 {
			t.Errorf("%v: exit %d\n%s%s", args, res.code, res.out, res.err)
		}
	}
	if len(r.bodies) != 7 {
		t.Errorf("%d callbacks arrived, want 7", len(r.bodies))
	}
}

// heads records the head of each request as it arrived on the wire.
type heads struct {
	mu  sync.Mutex
	got []string
}

func (h *heads) start(t *testing.T) string {
	return "http://" + delivertest.Serve(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			h.mu.Lock()
			h.got = append(h.got, strings.Join(sortedNames(req.Header), ","))
			h.mu.Unlock()
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
		}
	}) + "/cb"
}

func sortedNames(h http.Header) []string {
	var names []string
	for k, vs := range h {
		for _, v := range vs {
			names = append(names, k+": "+v)
		}
	}
	slices.Sort(names)
	return names
}

// TestDeliverySendsOnlyTheServicesHeaders: Content-Type, Content-Length,
// Host, User-Agent and the user's -H, in single sends and load mode alike;
// nothing of Go's (Accept-Encoding: gzip).
func TestDeliverySendsOnlyTheServicesHeaders(t *testing.T) {
	var h heads
	url := h.start(t)
	for _, args := range [][]string{
		{"send", "publish_done", "--to", url, "-H", "X-Token: t"},
		{"send", "publish_done", "--count", "1", "--to", url, "-H", "X-Token: t"},
	} {
		if res := runEnv(t, nil, args...); res.code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, res.code, res.err)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.got) != 2 {
		t.Fatalf("%d requests", len(h.got))
	}
	for i, got := range h.got {
		if !strings.HasPrefix(got, "Content-Length: ") || !strings.HasSuffix(got, ",Content-Type: application/json,User-Agent: livecb/test,X-Token: t") ||
			strings.Count(got, ",") != 3 {
			t.Errorf("request %d carried %s", i+1, got)
		}
	}
}

// TestDeliveryProxyComesFromTheStreams: the proxy is the one the given
// environment names, never the process's; load mode refuses one it
// cannot go through.
func TestDeliveryProxyComesFromTheStreams(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		seen = append(seen, r.URL.String())
		mu.Unlock()
	}))
	defer proxy.Close()
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:1") // the process's: must not be used
	env := map[string]string{"HTTP_PROXY": proxy.URL}
	if res := runEnv(t, env, "send", "publish_done", "--to", "http://receiver.invalid/cb"); res.code != 0 {
		t.Errorf("send through the proxy: exit %d\n%s", res.code, res.err)
	}
	res := runEnv(t, env, "send", "publish_done", "--count", "2", "--to", "http://receiver.invalid/cb")
	if res.code != ExitUsage || !strings.Contains(res.err, "cannot go through a proxy") {
		t.Errorf("load mode through a proxy: exit %d\n%s", res.code, res.err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen[0] != "http://receiver.invalid/cb" {
		t.Errorf("the proxy saw %q", seen)
	}
}

// TestDeliveryReplayBadRecordDoesNotStopTheReplay: a record whose URL
// cannot be sent is reported with its file:line and cause; the rest go.
func TestDeliveryReplayBadRecordDoesNotStopTheReplay(t *testing.T) {
	var r receiver
	url := r.start(t, 200)
	file := oneCapture(t, "/a", "/b?x=\x01", "/c")
	res := runEnv(t, nil, "replay", file, "--to", url, "--preserve-path")
	if res.code != ExitCheckFailed || len(r.bodies) != 2 || !strings.Contains(res.out, "cap.ndjson:2") ||
		!strings.Contains(res.out, "FAILED: "+string(deliver.CauseURL)) || !strings.Contains(res.err, "1 failed") {
		t.Errorf("exit %d, %d delivered\n%s%s", res.code, len(r.bodies), res.out, res.err)
	}
	if strings.Join(r.paths, " ") != "/a /c" {
		t.Errorf("delivered to %v", r.paths)
	}
}

// TestDeliverySettingsAreCheckedOnce: what the policy refuses is a usage
// error naming the flag.
func TestDeliverySettingsAreCheckedOnce(t *testing.T) {
	var r receiver
	url := r.start(t, 200)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"send", "publish_done", "--to", url, "-H", "Content-Length: 5"}, "--header Content-Length: set by the sender"},
		{[]string{"send", "publish_done", "--count", "2", "--to", url, "--rate", "1e-300"}, "--rate 1e-300: give between one request a day"},
		{[]string{"test", "--to", url, "-H", "Transfer-Encoding: chunked"}, "--header Transfer-Encoding"},
	} {
		res := runEnv(t, nil, tc.args...)
		if res.code != ExitUsage || !strings.Contains(res.err, tc.want) {
			t.Errorf("%v: exit %d, want 2 and %q\n%s", tc.args, res.code, tc.want, res.err)
		}
	}
	if len(r.bodies) != 0 {
		t.Errorf("%d callbacks sent", len(r.bodies))
	}
}
