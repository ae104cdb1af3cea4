package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/event"
)

// receiver records every request it gets.
type receiver struct {
	mu      sync.Mutex
	bodies  []string
	paths   []string
	headers []http.Header
}

func (r *receiver) handler(status int) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies = append(r.bodies, string(b))
		r.paths = append(r.paths, req.URL.Path)
		r.headers = append(r.headers, req.Header.Clone())
		r.mu.Unlock()
		w.WriteHeader(status)
		io.WriteString(w, `{"code":0}`)
	}
}

func (r *receiver) start(t *testing.T, status int) string {
	srv := httptest.NewServer(r.handler(status))
	t.Cleanup(srv.Close)
	return srv.URL
}

type run struct {
	code     int
	out, err string
}

// runSend runs livecb in-process with a clean environment.
func runSend(t *testing.T, stdin string, tty bool, args ...string) run {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Chdir(t.TempDir())
	var out, errb bytes.Buffer
	code := Main(args, Streams{In: strings.NewReader(stdin), Out: &out, Err: &errb, OutTTY: tty,
		Getenv: func(string) string { return "" }}, BuildInfo{Version: "test"})
	return run{code, out.String(), errb.String()}
}

func TestSendBigNumbersArriveExactly(t *testing.T) {
	var r receiver
	url := r.start(t, 200)
	// taskExternalId is a string in the spec: as a JSON number it is drift,
	// sent with a warning and every digit.
	res := runSend(t, "", false, "send", "task_record_done", "--to", url+"/cb", "--set", "taskExternalId=163594946396839937")
	if res.code != 0 || len(r.bodies) != 1 || !strings.Contains(r.bodies[0], `"taskExternalId":163594946396839937}`) || !strings.Contains(res.err, "[type_drift]") {
		t.Fatalf("exit %d, %d received: %s %v", res.code, len(r.bodies), res.err, r.bodies)
	}
	r.bodies = nil
	// A string field given a number is refused, with a hint.
	res = runSend(t, "", false, "send", "task_record_done", "--to", url+"/cb", "--set", "streamName=350802")
	if res.code != ExitCheckFailed || len(r.bodies) != 0 || !strings.Contains(res.err, "--set-string streamName=350802") {
		t.Fatalf("exit %d, %d received: %s", res.code, len(r.bodies), res.err)
	}
	res = runSend(t, "", false, "send", "task_record_done", "--to", url+"/cb", "--no-validate",
		"--set", "taskExternalId=163594946396839937", "--set", "fileSize=12345678901234567890",
		"--set-string", "duration=81899.0", "--set", "group.1.endTime=99999999999999999999")
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.err)
	}
	if len(r.bodies) != 1 {
		t.Fatalf("%d requests", len(r.bodies))
	}
	for _, want := range []string{`"taskExternalId":163594946396839937`, `"fileSize":12345678901234567890`, `"duration":"81899.0"`, `"endTime":99999999999999999999}]`} {
		if !strings.Contains(r.bodies[0], want) {
			t.Errorf("received body lacks %s:\n%s", want, r.bodies[0])
		}
	}
	if !strings.Contains(res.out, "task_record_done") || !strings.Contains(res.out, url+"/cb") || !strings.Contains(res.out, "200 OK") || !strings.Contains(res.out, `{"code":0}`) {
		t.Errorf("stdout %q", res.out)
	}
	if !strings.Contains(res.err, "1 callback sent: 1 answered 200") {
		t.Errorf("stderr %q", res.err)
	}
	res = runSend(t, "", false, "send", "task_record_done", "--to", url+"/cb", "--set-string", "taskExternalId=163594946396839937")
	if res.code != 0 || !strings.Contains(r.bodies[1], `"taskExternalId":"163594946396839937"`) {
		t.Fatalf("--set-string: exit %d: %s %s", res.code, res.err, r.bodies[1])
	}
}

func TestSendKindsInOrderAboutOneStream(t *testing.T) {
	var r receiver
	url := r.start(t, 200)
	res := runSend(t, "", false, "send", "publish_started", "snapshot", "publish_done", "record_done", "--to", url,
		"--push-url", "rtmp://push.example.com/live/350802?a=aaa&b=bbb")
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.err)
	}
	var kinds []string
	for _, b := range r.bodies {
		ev, fs := event.Check([]byte(b), event.Options{})
		if fs.HasErrors() {
			t.Errorf("invalid body received: %s %v", b, fs)
		}
		kinds = append(kinds, string(ev.Kind))
		if id := ev.Identity(); id != (event.Identity{Domain: "push.example.com", App: "live", Stream: "350802"}) {
			t.Errorf("identity %+v", id)
		}
	}
	if strings.Join(kinds, " ") != "publish_started snapshot publish_done record_done" {
		t.Errorf("order %v", kinds)
	}
	if !strings.Contains(r.bodies[0], `"pushParams":{"a":"aaa","b":"bbb"}`) {
		t.Errorf("pushParams: %s", r.bodies[0])
	}
}

func TestSendHeaders(t *testing.T) {
	var r receiver
	url := r.start(t, 200)
	res := runSend(t, "", false, "send", "snapshot", "--to", url, "-H", "Authorization: Bearer s3cret",
		"-H", "X-Trace: 1", "--header", "X-Trace: 2")
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.err)
	}
	h := r.headers[0]
	if h.Get("Authorization") != "Bearer s3cret" || strings.Join(h.Values("X-Trace"), ",") != "1,2" {
		t.Errorf("headers %v", h)
	}
	if h.Get("Content-Type") != "application/json" || h.Get("User-Agent") != "livecb/test" {
		t.Errorf("Content-Type %q, User-Agent %q", h.Get("Content-Type"), h.Get("User-Agent"))
	}
	bad := runSend(t, "", false, "send", "snapshot", "--to", url, "-H", "no colon")
	if bad.code != ExitUsage || !strings.Contains(bad.err, "write 'Name: value'") {
		t.Errorf("bad header: exit %d %s", bad.code, bad.err)
	}
}

func TestSendRetriesUntilSuccess(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if calls.Add(1) <= 2 {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	res := runSend(t, "", false, "send", "publish_done", "--to", srv.URL, "--retries", "3", "--backoff", "1ms")
	if res.code != 0 || calls.Load() != 3 {
		t.Fatalf("exit %d after %d calls: %s", res.code, calls.Load(), res.err)
	}
	for _, want := range []string{"publish_done attempt 1/4: 502 Bad Gateway", "publish_done attempt 2/4: 502 Bad Gateway", "publish_done attempt 3/4: 200 OK"} {
		if !strings.Contains(res.err, want) {
			t.Errorf("stderr lacks %q:\n%s", want, res.err)
		}
	}
	// Without retries, the 502 is the answer: exit 1.
	calls.Store(0)
	res = runSend(t, "", false, "send", "publish_done", "--to", srv.URL)
	if res.code != ExitCheckFailed || calls.Load() != 1 || !strings.Contains(res.out, "502 Bad Gateway (expected 200)") {
		t.Fatalf("exit %d after %d calls: %s", res.code, calls.Load(), res.out)
	}
}

func TestSendTimeoutAgainstHangingServer(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		select {
		case <-release:
		case <-req.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	res := runSend(t, "", false, "send", "publish_done", "snapshot", "--to", srv.URL+"/slow", "--timeout", "150ms")
	if res.code != ExitNetwork {
		t.Fatalf("exit %d, want %d: %s", res.code, ExitNetwork, res.err)
	}
	if !strings.Contains(res.err, "could not deliver publish_done to "+srv.URL+"/slow: timeout") {
		t.Errorf("stderr %q", res.err)
	}
	// The second callback to the same dead URL is skipped, not timed out again.
	if !strings.Contains(res.err, "not sent: timeout earlier") {
		t.Errorf("stderr %q", res.err)
	}
}

func TestSendRefusedIsExit3(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	url := "http://" + l.Addr().String() + "/cb"
	l.Close()
	res := runSend(t, "", false, "send", "record_done", "--to", url)
	if res.code != ExitNetwork || !strings.Contains(res.err, url+": connection refused") {
		t.Fatalf("exit %d: %s", res.code, res.err)
	}
}

func TestSendExpectStatus(t *testing.T) {
	var r receiver
	url := r.start(t, 204)
	for _, tc := range []struct {
		expect string
		code   int
	}{{"", 1}, {"200", 1}, {"2xx", 0}, {"200,204", 0}, {"5xx", 1}} {
		args := []string{"send", "publish_done", "--to", url}
		if tc.expect != "" {
			args = append(args, "--expect-status", tc.expect)
		}
		if res := runSend(t, "", false, args...); res.code != tc.code {
			t.Errorf("--expect-status %q against 204: exit %d, want %d (%s)", tc.expect, res.code, tc.code, res.err)
		}
	}
	if res := runSend(t, "", false, "send", "publish_done", "--to", url, "--expect-status", "abc"); res.code != ExitUsage {
		t.Errorf("bad --expect-status: exit %d", res.code)
	}
}

func TestSendJSONOutput(t *testing.T) {
	var r receiver
	url := r.start(t, 200)
	res := runSend(t, "", false, "send", "task_record_done", "snapshot", "--to", url, "-o", "json",
		"--set", "fileSize=12345678901234567890")
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.err)
	}
	lines := strings.Split(strings.TrimSpace(res.out), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: %s", len(lines), res.out)
	}
	var rec struct {
		Kind      string          `json:"kind"`
		URL       string          `json:"url"`
		Request   json.RawMessage `json:"request"`
		Status    int             `json:"status"`
		LatencyMS *float64        `json:"latency_ms"`
		Response  string          `json:"response"`
		OK        bool            `json:"ok"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Kind != "task_record_done" || rec.URL != url || rec.Status != 200 || !rec.OK || rec.LatencyMS == nil || rec.Response != `{"code":0}` {
		t.Errorf("record %+v", rec)
	}
	if string(rec.Request) != r.bodies[0] || !strings.Contains(lines[0], `"fileSize":12345678901234567890`) {
		t.Errorf("request %s, received %s", rec.Request, r.bodies[0])
	}
	// A network failure has an error and a cause.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + l.Addr().String()
	l.Close()
	res = runSend(t, "", false, "send", "snapshot", "--to", dead, "-o", "json")
	if res.code != ExitNetwork || !strings.Contains(res.out, `"cause":"connection refused"`) || !strings.Contains(res.out, `"error":"Post`) {
		t.Errorf("exit %d: %s", res.code, res.out)
	}
}

func TestSendDryRun(t *testing.T) {
	res := runSend(t, "", false, "send", "publish_started", "publish_done", "--dry-run", "--stream", "cam1")
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.err)
	}
	lines := strings.Split(strings.TrimSpace(res.out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], `{"version":"v1.1",`) || !strings.Contains(lines[1], `"streamName":"cam1"`) {
		t.Errorf("piped dry run: %s", res.out)
	}
	tty := runSend(t, "", true, "send", "publish_done", "--dry-run")
	if !strings.HasPrefix(tty.out, "{\n  \"version\": \"v1.1\",\n") {
		t.Errorf("terminal dry run: %s", tty.out)
	}
	if !strings.Contains(tty.err, "publish_done -> no URL (pass --to)") {
		t.Errorf("stderr %q", tty.err)
	}
}

func TestSendVerbatimAndData(t *testing.T) {
	var r receiver
	url := r.start(t, 200)
	res := runSend(t, "", false, "send", "task_record_done", "--verbatim", "--to", url)
	if res.code != 0 || r.bodies[0] != string(event.Fixture(event.TaskRecordDone)) {
		t.Fatalf("exit %d, body %s", res.code, r.bodies[0])
	}
	body := `{"version":"v1.1","publishDomain":"a.example.com","appName":"live","streamName":"s","event":"publish_done","status":"success","eventTime":1772366400000}`
	res = runSend(t, body, false, "send", "--data", "-", "--to", url)
	if res.code != 0 || r.bodies[1] != body || !strings.Contains(res.out, "publish_done") {
		t.Fatalf("--data -: exit %d, body %s, out %s", res.code, r.bodies[1], res.out)
	}
	file := filepath.Join(t.TempDir(), "b.json")
	os.WriteFile(file, []byte(body), 0o644)
	res = runSend(t, "", false, "send", "publish_done", "--data", file, "--set", "streamName=t", "--to", url)
	if res.code != 0 || r.bodies[2] != strings.Replace(body, `"s"`, `"t"`, 1) {
		t.Fatalf("--data FILE: exit %d, body %s", res.code, r.bodies[2])
	}
	res = runSend(t, "", false, "send", "--data", filepath.Join(t.TempDir(), "missing.json"), "--to", url)
	if res.code != ExitIO {
		t.Errorf("missing --data file: exit %d", res.code)
	}
}

func TestSendValidationRefusal(t *testing.T) {
	var r receiver
	url := r.start(t, 200)
	res := runSend(t, "", false, "send", "record_done", "--unset", "downloadUrl", "--to", url)
	if res.code != ExitCheckFailed || len(r.bodies) != 0 {
		t.Fatalf("exit %d, %d received", res.code, len(r.bodies))
	}
	if !strings.Contains(res.err, `missing required field "downloadUrl"`) || !strings.Contains(res.err, "--no-validate") {
		t.Errorf("stderr %q", res.err)
	}
	res = runSend(t, "", false, "send", "record_done", "--unset", "downloadUrl", "--no-validate", "--to", url)
	if res.code != 0 || len(r.bodies) != 1 || strings.Contains(r.bodies[0], "downloadUrl") {
		t.Fatalf("--no-validate: exit %d, %d received", res.code, len(r.bodies))
	}
	// Paths outside the spec: sent, with a warning.
	res = runSend(t, "", false, "send", "snapshot", "--set", "snapshotId=42", "--to", url)
	if res.code != 0 || !strings.Contains(res.err, `warning: --set snapshotId=42: "snapshotId" is not a field of snapshot in the spec; sent anyway`) {
		t.Errorf("exit %d: %s", res.code, res.err)
	}
	if !strings.Contains(r.bodies[1], `"snapshotId":42`) {
		t.Errorf("body %s", r.bodies[1])
	}
}

func TestSendOverridesApplyInCommandLineOrder(t *testing.T) {
	var r receiver
	url := r.start(t, 200)
	res := runSend(t, "", false, "send", "publish_done", "--to", url, "--unset", "status", "--set", "status=fail", "--set-string", "eventTime=1772366400000")
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.err)
	}
	if !strings.Contains(r.bodies[0], `"status":"fail"`) || !strings.Contains(r.bodies[0], `"eventTime":"1772366400000"`) {
		t.Errorf("body %s", r.bodies[0])
	}
}

func TestSendLifecycleDuplicateShuffle(t *testing.T) {
	var r receiver
	url := r.start(t, 200)
	res := runSend(t, "", false, "send", "lifecycle", "--to", url, "--length", "2m", "--snapshot-interval", "1m",
		"--task-record", "--quality", "--duplicate", "--shuffle", "--seed", "7", "-o", "json")
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.err)
	}
	// publish_started, 1 snapshot, quality, publish_done, record_done, task record: 6, twice.
	if len(r.bodies) != 12 {
		t.Fatalf("%d received", len(r.bodies))
	}
	count := map[string]int{}
	var kinds []string
	for _, b := range r.bodies {
		count[b]++
		ev, _ := event.Check([]byte(b), event.Options{})
		kinds = append(kinds, string(ev.Kind))
	}
	for b, n := range count {
		if n != 2 {
			t.Errorf("delivered %d times: %s", n, b)
		}
	}
	if strings.Join(kinds, " ") == "publish_started publish_started snapshot snapshot quality quality publish_done publish_done record_done record_done task_record_done task_record_done" {
		t.Errorf("--shuffle kept the order")
	}
	plain := runSend(t, "", false, "send", "lifecycle", "--dry-run", "--snapshot-interval", "0", "--length", "1m")
	if n := strings.Count(plain.out, "\n"); n != 3 {
		t.Errorf("lifecycle without snapshots: %d bodies\n%s", n, plain.out)
	}
	if bad := runSend(t, "", false, "send", "lifecycle", "record_done"); bad.code != ExitUsage {
		t.Errorf("lifecycle + kind: exit %d", bad.code)
	}
}

func TestSendInsecure(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is the point
	srv.StartTLS()
	defer srv.Close()
	res := runSend(t, "", false, "send", "publish_done", "--to", srv.URL)
	if res.code != ExitNetwork || !strings.Contains(res.err, ": TLS (") {
		t.Fatalf("without --insecure: exit %d %s", res.code, res.err)
	}
	if res := runSend(t, "", false, "send", "publish_done", "--to", srv.URL, "--insecure"); res.code != 0 {
		t.Fatalf("--insecure: exit %d %s", res.code, res.err)
	}
}

func TestSendRoutesByConfigWithAFamilyOff(t *testing.T) {
	var r receiver
	url := r.start(t, 200)
	cfg := filepath.Join(t.TempDir(), "livecb.yaml")
	os.WriteFile(cfg, []byte(`routes:
  - domain: "*"
    stream: {url: `+url+`/other}
  - domain: push.example.com
    stream: {url: `+url+`/stream}
    record: {url: `+url+`/record}
    snapshot: {url: `+url+`/snapshot, enabled: false}
`), 0o644)
	res := runSend(t, "", false, "--config", cfg, "send", "publish_started", "snapshot", "record_done", "--domain", "push.example.com")
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.err)
	}
	if strings.Join(r.paths, " ") != "/stream /record" {
		t.Errorf("paths %v", r.paths)
	}
	if !strings.Contains(res.err, "skipped snapshot") || !strings.Contains(res.err, "snapshot callbacks are switched off for push.example.com") {
		t.Errorf("stderr %q", res.err)
	}
	// Another domain falls back to "*", which has no record URL: refused before sending.
	r.paths = nil
	res = runSend(t, "", false, "--config", cfg, "send", "publish_started", "record_done", "--domain", "other.example.com")
	if res.code != ExitUsage || len(r.paths) != 0 || !strings.Contains(res.err, "no callback URL configured for record callbacks") {
		t.Errorf("exit %d, %v: %s", res.code, r.paths, res.err)
	}
	// --to overrides the routes.
	res = runSend(t, "", false, "--config", cfg, "send", "snapshot", "--domain", "push.example.com", "--to", url+"/direct")
	if res.code != 0 || r.paths[len(r.paths)-1] != "/direct" {
		t.Errorf("--to: exit %d %v", res.code, r.paths)
	}
}

func TestSendUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"send"},
		{"send", "record_don"},
		{"send", "record_done", "--to", "localhost:3000"},
		{"send", "record_done", "--verbatim", "--stream", "x"},
		{"send", "record_done", "--set", "novalue"},
		{"send", "record_done", "--timeout", "0s"},
		{"send", "record_done", "--speed", "-1"},
	} {
		if res := runSend(t, "", false, args...); res.code != ExitUsage {
			t.Errorf("%v: exit %d, want 2: %s", args, res.code, res.err)
		}
	}
	res := runSend(t, "", false, "send", "recrd_done")
	if !strings.Contains(res.err, "did you mean record_done") {
		t.Errorf("stderr %q", res.err)
	}
}

func TestSendSpeedPacesTheLifecycle(t *testing.T) {
	var r receiver
	url := r.start(t, 200)
	start := time.Now()
	res := runSend(t, "", false, "send", "lifecycle", "--to", url, "--length", "4s", "--snapshot-interval", "0", "--speed", "20")
	if res.code != 0 || len(r.bodies) != 3 {
		t.Fatalf("exit %d, %d received: %s", res.code, len(r.bodies), res.err)
	}
	// 4s of stream (plus 2s until the record) at 20x is 300ms; a lower bound only.
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("took %s, want at least 300ms", d)
	}
}

func TestSendJSONAttemptsAndCompletion(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(503)
		}
	}))
	defer srv.Close()
	res := runSend(t, "", false, "send", "snapshot", "--to", srv.URL, "--retries", "1", "--backoff", "1ms", "-o", "json")
	if res.code != 0 || !strings.Contains(res.out, `"attempts":[{"status":503,"latency_ns":`) || !strings.Contains(res.out, `{"status":200,"latency_ns":`) {
		t.Fatalf("exit %d: %s", res.code, res.out)
	}
	dry := runSend(t, "", false, "send", "snapshot", "--dry-run", "-o", "json")
	if !strings.Contains(dry.out, `"dry_run":true`) || strings.Contains(dry.out, `},"status":`) {
		t.Errorf("dry run json: %s", dry.out)
	}
	comp := runSend(t, "", false, "__complete", "send", "li")
	if !strings.HasPrefix(comp.out, "lifecycle\t") {
		t.Errorf("completion of li: %q", comp.out)
	}
	comp = runSend(t, "", false, "__complete", "send", "task")
	if !strings.HasPrefix(comp.out, "task_record_done\t") {
		t.Errorf("completion of task: %q", comp.out)
	}
}
