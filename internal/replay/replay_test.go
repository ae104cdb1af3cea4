package replay

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/capture"
	"github.com/livecb/livecb/internal/deliver"
	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/route"
)

// received is one request a test receiver got.
type received struct {
	Body   []byte
	CT     string
	Path   string
	Query  string
	Header http.Header
	At     time.Time
}

type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []received
	status int
}

func newReceiver(t testing.TB) *receiver {
	rv := &receiver{status: 200}
	rv.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		b, _ := io.ReadAll(r.Body)
		rv.mu.Lock()
		rv.got = append(rv.got, received{b, r.Header.Get("Content-Type"), r.URL.Path, r.URL.RawQuery, r.Header.Clone(), at})
		status := rv.status
		rv.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(rv.Close)
	return rv
}

func (rv *receiver) requests() []received {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return append([]received(nil), rv.got...)
}

type capRec struct {
	body   string
	at     time.Time
	target string
	ct     string
}

// writeCapture writes a capture log with the real capture.Writer.
func writeCapture(t testing.TB, name string, recs ...capRec) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	w, err := capture.Create(path, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range recs {
		r := &capture.Record{Time: c.at, Method: "POST", Target: c.target, Remote: "127.0.0.1:5000",
			Header: http.Header{"Content-Type": {c.ct}}, Size: int64(len(c.body))}
		r.SetBody([]byte(c.body))
		// Classified and sealed, as the listener writes its records.
		if ev, _ := event.Check([]byte(c.body), event.Options{}); ev != nil {
			r.Kind = ev.Kind
		}
		r.SealKind()
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func inputs(paths ...string) []Input {
	var in []Input
	for _, p := range paths {
		in = append(in, Input{Name: filepath.Base(p), Open: func() (io.ReadCloser, error) { return os.Open(p) }})
	}
	return in
}

func run(t *testing.T, opts Options) (Summary, []Outcome) {
	t.Helper()
	if opts.Client == nil {
		opts.Client = deliver.NewClient(deliver.Policy{Timeout: 2 * time.Second})
	}
	var outs []Outcome
	sum, err := Run(context.Background(), opts, func(o Outcome) { outs = append(outs, o) })
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return sum, outs
}

var t0 = time.Date(2024, 5, 14, 8, 21, 3, 512_000_000, time.UTC)

const (
	started  = `{"version":"v1.1","publishDomain":"push.example.com","appName":"live","streamName":"cam-1","event":"publish_started","status":"success","clientIp":"203.0.113.24","eventTime":1715674863500,"pushParams":{}}`
	done     = `{"version":"v1.1","publishDomain":"push.example.com","appName":"live","streamName":"cam-1","event":"publish_done","status":"success","eventTime":"1715674865500"}`
	task     = `{"version":"v1.1","publishDomain":"push.example.com","appName":"live","streamName":"cam-2","duration":"624.0","event":"record_done","fileSize":"96483721000000000000","format":"mp4","status":"success","group":[{"beginTime":"1715674863500","endTime":1715674864100}],"downloadUrl":"http://s3.example.com/r/cam-2.mp4","taskExternalId":"163594946396839936","seq":163594946396839936}`
	snapshot = "{\n  \"version\": \"v1.1\",\n  \"publishDomain\": \"push.example.com\",\n  \"appName\": \"live\",\n  \"streamName\": \"cam-1\",\n  \"snapshotTime\": 1715674864000,\n  \"downloadUrl\": \"http://s3.example.com/s.jpg\",\n  \"status\": \"success\"\n}"
)

func TestReplayBodiesByteForByte(t *testing.T) {
	rv := newReceiver(t)
	invalidUTF8 := "{\"streamName\":\"caf\xe9\",\"taskExternalId\":163594946396839936}"
	recs := []capRec{
		{started, t0, "/cb/stream?sign=a%2Fb", "application/json"},
		{invalidUTF8, t0.Add(10 * time.Millisecond), "/cb", "text/plain; charset=latin1"},
		{task, t0.Add(20 * time.Millisecond), "/cb/record", "application/json; charset=utf-8"},
		{snapshot, t0.Add(30 * time.Millisecond), "/cb/snapshot", "application/json"},
	}
	path := writeCapture(t, "cap.ndjson", recs...)
	sum, outs := run(t, Options{Inputs: inputs(path), To: rv.URL + "/hook"})
	got := rv.requests()
	if len(got) != len(recs) {
		t.Fatalf("receiver got %d requests, want %d", len(got), len(recs))
	}
	for i, c := range recs {
		if !bytes.Equal(got[i].Body, []byte(c.body)) {
			t.Errorf("request %d body\n got %q\nwant %q", i, got[i].Body, c.body)
		}
		if got[i].CT != c.ct {
			t.Errorf("request %d Content-Type %q, want %q", i, got[i].CT, c.ct)
		}
		if got[i].Path != "/hook" {
			t.Errorf("request %d path %q, want /hook (no --preserve-path)", i, got[i].Path)
		}
	}
	if sum.Answered != 4 || sum.Missed != 0 || sum.Failed() {
		t.Errorf("summary %+v", sum)
	}
	if outs[0].Source != "cap.ndjson:1" || outs[0].Kind != event.PublishStarted || outs[0].Status != 200 || !outs[0].OK {
		t.Errorf("outcome 0: %+v", outs[0])
	}
	if outs[1].Kind != "" || outs[1].Source != "cap.ndjson:2" {
		t.Errorf("the invalid body has no kind: %+v", outs[1])
	}
	if outs[2].Kind != event.TaskRecordDone || outs[3].Kind != event.Snapshot {
		t.Errorf("kinds %s %s", outs[2].Kind, outs[3].Kind)
	}
}

func TestReplayHeadersAndPreservePath(t *testing.T) {
	rv := newReceiver(t)
	path := writeCapture(t, "cap.ndjson",
		capRec{started, t0, "/cb/stream?sign=a%2Fb&x=1", "application/json"},
		capRec{done, t0.Add(time.Millisecond), "/cb/stream", "application/json"})
	client := deliver.NewClient(deliver.Policy{Timeout: 2 * time.Second,
		Header: http.Header{"Content-Type": {"application/x-override"}, "X-Env": {"ci"}}})
	run(t, Options{Inputs: inputs(path), To: rv.URL + "/base/?k=v", PreservePath: true, Client: client})
	got := rv.requests()
	if len(got) != 2 {
		t.Fatalf("%d requests", len(got))
	}
	if got[0].Path != "/base/cb/stream" || got[0].Query != "k=v&sign=a%2Fb&x=1" {
		t.Errorf("request 0 went to %s?%s", got[0].Path, got[0].Query)
	}
	if got[1].Path != "/base/cb/stream" || got[1].Query != "k=v" {
		t.Errorf("request 1 went to %s?%s", got[1].Path, got[1].Query)
	}
	for i, g := range got {
		if g.CT != "application/x-override" || g.Header.Get("X-Env") != "ci" {
			t.Errorf("request %d headers: %v", i, g.Header)
		}
	}
}

func TestJoinTarget(t *testing.T) {
	tests := []struct{ base, target, want string }{
		{"http://h:1", "/cb?x=1", "http://h:1/cb?x=1"},
		{"http://h/base/", "/cb", "http://h/base/cb"},
		{"http://h/base?k=v", "/a%20b?x=1", "http://h/base/a%20b?k=v&x=1"},
	}
	for _, tt := range tests {
		got, err := JoinTarget(tt.base, tt.target)
		if err != nil || got != tt.want {
			t.Errorf("JoinTarget(%q, %q) = %q, %v; want %q", tt.base, tt.target, got, err, tt.want)
		}
	}
}

func TestReplayFilters(t *testing.T) {
	invalid := `{"version":"v1.1","publishDomain":"push.example.com","appName":"live","streamName":"cam-1","event":"publish_done","status":"success"}`
	path := writeCapture(t, "cap.ndjson",
		capRec{started, t0, "/", "application/json"},
		capRec{snapshot, t0.Add(time.Second), "/", "application/json"},
		capRec{task, t0.Add(2 * time.Second), "/", "application/json"},
		capRec{invalid, t0.Add(3 * time.Second), "/", "application/json"},
		capRec{done, t0.Add(4 * time.Second), "/", "application/json"},
	)
	lines := func(outs []Outcome) string {
		var s []string
		for _, o := range outs {
			s = append(s, fmt.Sprint(o.Line))
		}
		return strings.Join(s, ",")
	}
	since, _ := ParseBound("1s")
	until, _ := ParseBound(t0.Add(3 * time.Second).Format(time.RFC3339Nano))
	tests := []struct {
		name   string
		filter Filter
		want   string
	}{
		{"none", Filter{}, "1,2,3,4,5"},
		{"kind", Filter{Kinds: []string{"publish_done", "snapshot"}}, "2,4,5"},
		{"kind pattern", Filter{Kinds: []string{"publish_*", "snap*"}}, "1,2,4,5"},
		{"lines", Filter{Lines: Ranges{{2, 3}, {5, 5}}}, "2,3,5"},
		{"open range", Filter{Lines: Ranges{{4, math.MaxUint64}}}, "4,5"},
		{"stream glob", Filter{Stream: "cam-2*"}, "3"},
		{"domain and app", Filter{Domain: "push.*.com", App: "live"}, "1,2,3,4,5"},
		{"other domain", Filter{Domain: "other.com"}, ""},
		{"valid only", Filter{ValidOnly: true}, "1,2,3,5"},
		{"invalid only", Filter{InvalidOnly: true}, "4"},
		{"since offset, until time", Filter{Since: since, Until: until}, "2,3"},
		{"limit", Filter{Limit: 2, Kinds: []string{"publish_done", "snapshot", "task_record_done"}}, "2,3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rv := newReceiver(t)
			sum, outs := run(t, Options{Inputs: inputs(path), To: rv.URL, Filter: tt.filter})
			if got := lines(outs); got != tt.want {
				t.Errorf("replayed lines %q, want %q", got, tt.want)
			}
			if n := len(rv.requests()); n != sum.Answered || n != len(outs) {
				t.Errorf("receiver got %d, summary says %d answered", n, sum.Answered)
			}
		})
	}
}

func TestReplaySetKeepsDigits(t *testing.T) {
	rv := newReceiver(t)
	path := writeCapture(t, "cap.ndjson", capRec{task, t0, "/", "application/json"})
	var ovs []event.Override
	for _, arg := range []string{"fileSize=96483721000000000001", "streamName=cam-9"} {
		o, err := event.ParseSet(arg, false)
		if err != nil {
			t.Fatal(err)
		}
		ovs = append(ovs, o)
	}
	sum, outs := run(t, Options{Inputs: inputs(path), To: rv.URL, Overrides: ovs})
	got := rv.requests()
	want := strings.Replace(strings.Replace(task, `"96483721000000000000"`, "96483721000000000001", 1), `"cam-2"`, `"cam-9"`, 1)
	if len(got) != 1 || string(got[0].Body) != want {
		t.Fatalf("sent %q\nwant %q", got[0].Body, want)
	}
	if sum.Changed != 1 || len(outs[0].Changes) != 2 || outs[0].Findings == nil {
		t.Errorf("changes not reported: %+v", outs[0])
	}

	// A change that breaks the body is re-validated and reported.
	bad, _ := event.ParseSet("fileSize=-5", false)
	sum, outs = run(t, Options{Inputs: inputs(path), To: rv.URL, Overrides: []event.Override{bad}})
	if sum.ChangedInvalid != 1 || !outs[0].Findings.HasErrors() {
		t.Errorf("invalid change not reported: %+v", outs[0].Findings)
	}
}

func TestReplayRefreshTimes(t *testing.T) {
	rv := newReceiver(t)
	// Captured 0.5 s after the first callback's eventTime, like a real one.
	c0 := time.UnixMilli(1715674863500).Add(500 * time.Millisecond)
	path := writeCapture(t, "cap.ndjson",
		capRec{started, c0, "/", "application/json"},
		capRec{task, c0.Add(time.Second), "/", "application/json"},
		capRec{done, c0.Add(2 * time.Second), "/", "application/json"})
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	shift := now.Sub(c0).Milliseconds()
	_, outs := run(t, Options{Inputs: inputs(path), To: rv.URL, RefreshTimes: true, Now: func() time.Time { return now }})
	got := rv.requests()
	if len(got) != 3 {
		t.Fatalf("%d requests", len(got))
	}
	ms := func(v int64) string { return fmt.Sprint(v + shift) }
	wants := []string{
		strings.Replace(started, "1715674863500", ms(1715674863500), 1),
		strings.Replace(strings.Replace(task, `"beginTime":"1715674863500"`, `"beginTime":"`+ms(1715674863500)+`"`, 1),
			`"endTime":1715674864100`, `"endTime":`+ms(1715674864100), 1),
		strings.Replace(done, `"1715674865500"`, `"`+ms(1715674865500)+`"`, 1),
	}
	for i, w := range wants {
		if string(got[i].Body) != w {
			t.Errorf("request %d\n got %s\nwant %s", i, got[i].Body, w)
		}
	}
	// The first callback's time is now: its eventTime is now minus the
	// 0.5 s it had been sent before it was captured.
	if !strings.Contains(string(got[0].Body), fmt.Sprint(now.UnixMilli()-500)) {
		t.Errorf("first eventTime is not now-500ms: %s", got[0].Body)
	}
	if len(outs[1].Changes) != 1 || !strings.Contains(outs[1].Changes[0], "group.0.beginTime, group.0.endTime") {
		t.Errorf("changes: %v", outs[1].Changes)
	}
}

func TestReplayMergesByTime(t *testing.T) {
	rv := newReceiver(t)
	a := writeCapture(t, "a.ndjson",
		capRec{`{"n":1}`, t0, "/", "application/json"},
		capRec{`{"n":4}`, t0.Add(3 * time.Millisecond), "/", "application/json"},
		capRec{`{"n":5}`, t0.Add(4 * time.Millisecond), "/", "application/json"})
	b := writeCapture(t, "b.ndjson",
		capRec{`{"n":2}`, t0.Add(time.Millisecond), "/", "application/json"},
		capRec{`{"n":3}`, t0.Add(2 * time.Millisecond), "/", "application/json"},
		capRec{`{"n":6}`, t0.Add(5 * time.Millisecond), "/", "application/json"})
	plain := writeFile(t, "plain.ndjson", "{\"n\":\"p1\"}\n{\"n\":\"p2\"}\n")
	_, outs := run(t, Options{Inputs: inputs(a, b, plain), To: rv.URL})
	var order []string
	for _, g := range rv.requests() {
		order = append(order, string(g.Body))
	}
	// Inputs without timing come first (they have no time) in file order.
	want := `{"n":"p1"} {"n":"p2"} {"n":1} {"n":2} {"n":3} {"n":4} {"n":5} {"n":6}`
	if strings.Join(order, " ") != want {
		t.Errorf("order %s\nwant  %s", strings.Join(order, " "), want)
	}
	if outs[3].Source != "b.ndjson:1" {
		t.Errorf("source %s", outs[3].Source)
	}
}

func TestReplayTruncatedAndBroken(t *testing.T) {
	path := writeCapture(t, "cap.ndjson",
		capRec{started, t0, "/", "application/json"},
		capRec{done, t0.Add(time.Second), "/", "application/json"})
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"format":"livecb.capture.v1","seq":3,"body":"{\"event`)
	f.Close()

	rv := newReceiver(t)
	sum, outs := run(t, Options{Inputs: inputs(path), To: rv.URL})
	if len(rv.requests()) != 2 || sum.Truncated != 1 || sum.Failed() {
		t.Fatalf("truncated last line: %d sent, summary %+v", len(rv.requests()), sum)
	}
	if last := outs[len(outs)-1]; last.State != Truncated || last.Source != "cap.ndjson:3" {
		t.Errorf("last outcome %+v", last)
	}

	// A broken record in the middle is skipped and reported (the replay
	// goes on, and fails: not every record was replayed), or stops the
	// replay with --stop-on-error.
	nd := writeFile(t, "bodies.ndjson", started+"\n{\"a\": 1,}\n"+done+"\n")
	rv = newReceiver(t)
	sum, outs = run(t, Options{Inputs: inputs(nd), To: rv.URL})
	if len(rv.requests()) != 2 || sum.Broken != 1 || outs[1].State != Broken || outs[1].Source != "bodies.ndjson:2" || !sum.Failed() {
		t.Errorf("broken record: %d sent, %+v, %+v", len(rv.requests()), sum, outs[1])
	}
	rv = newReceiver(t)
	sum, _ = run(t, Options{Inputs: inputs(nd), To: rv.URL, StopOnError: true})
	if len(rv.requests()) != 1 || !strings.Contains(sum.Stopped, "bodies.ndjson:2") || !sum.Failed() {
		t.Errorf("--stop-on-error: %d sent, stopped %q", len(rv.requests()), sum.Stopped)
	}
}

func TestReplayHARSample(t *testing.T) {
	rv := newReceiver(t)
	sum, outs := run(t, Options{Inputs: inputs("../../testdata/har/chrome-devtools.har"), To: rv.URL, PreservePath: true})
	got := rv.requests()
	if len(got) != 4 || sum.Answered != 4 {
		t.Fatalf("%d requests from the HAR sample, want 4", len(got))
	}
	kinds := []event.Kind{event.PublishStarted, event.Snapshot, event.PublishDone, event.TaskRecordDone}
	paths := []string{"/live/callback/stream", "/live/callback/snapshot", "/live/callback/stream", "/live/callback/record"}
	for i := range got {
		if outs[i].Kind != kinds[i] || got[i].Path != paths[i] {
			t.Errorf("request %d: kind %s path %s", i, outs[i].Kind, got[i].Path)
		}
	}
	if got[1].CT != "application/json; charset=utf-8" || got[0].Query != "token=abc123" {
		t.Errorf("content type %q query %q", got[1].CT, got[0].Query)
	}
	if !bytes.Contains(got[3].Body, []byte(`"taskExternalId":"163594946396839936"`)) {
		t.Errorf("big id lost: %s", got[3].Body)
	}
}

// gaps returns the time between consecutive arrivals.
func gaps(got []received) []time.Duration {
	var out []time.Duration
	for i := 1; i < len(got); i++ {
		out = append(out, got[i].At.Sub(got[i-1].At))
	}
	return out
}

func TestReplayPacing(t *testing.T) {
	if testing.Short() {
		t.Skip("waits about a second")
	}
	for _, tc := range []struct {
		speed float64
		gap   time.Duration // between captures
	}{{1, 200 * time.Millisecond}, {10, 2 * time.Second}} {
		t.Run(fmt.Sprintf("speed %g", tc.speed), func(t *testing.T) {
			rv := newReceiver(t)
			path := writeCapture(t, "cap.ndjson",
				capRec{started, t0, "/", "application/json"},
				capRec{snapshot, t0.Add(tc.gap), "/", "application/json"},
				capRec{done, t0.Add(2 * tc.gap), "/", "application/json"})
			start := time.Now()
			sum, _ := run(t, Options{Inputs: inputs(path), To: rv.URL, Speed: tc.speed})
			got := rv.requests()
			if len(got) != 3 {
				t.Fatalf("%d requests", len(got))
			}
			// Each callback is due 200 ms after the one before. It never
			// leaves early; the bounds above are generous, timing precision
			// is the benchmark's business.
			for i, g := range got {
				due := time.Duration(i) * 200 * time.Millisecond
				if at := g.At.Sub(start); at < due || at >= due+time.Second {
					t.Errorf("callback %d arrived %v after the start, want about %v", i, at, due)
				}
			}
			for i, g := range gaps(got) {
				if g < 100*time.Millisecond {
					t.Errorf("gap %d = %v, want about 200ms", i, g)
				}
			}
			if !sum.Paced || sum.Lateness.Count != 3 {
				t.Errorf("lateness not measured: %+v", sum.Lateness)
			}
		})
	}
	// Without --speed nothing waits.
	rv := newReceiver(t)
	path := writeCapture(t, "cap.ndjson",
		capRec{started, t0, "/", "application/json"},
		capRec{done, t0.Add(time.Hour), "/", "application/json"})
	start := time.Now()
	run(t, Options{Inputs: inputs(path), To: rv.URL})
	if d := time.Since(start); d > 900*time.Millisecond || len(rv.requests()) != 2 {
		t.Errorf("unpaced replay took %v", d)
	}
}

func TestReplayUnreachableStops(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	path := writeCapture(t, "cap.ndjson",
		capRec{started, t0, "/", "application/json"},
		capRec{done, t0.Add(time.Second), "/", "application/json"})
	sum, outs := run(t, Options{Inputs: inputs(path), To: "http://" + addr + "/cb"})
	if sum.Unreachable != 1 || len(outs) != 1 || outs[0].Cause != deliver.CauseRefused || !strings.Contains(sum.Stopped, "unreachable") {
		t.Errorf("summary %+v outcomes %+v", sum, outs)
	}
}

func TestReplayExpectAndRoutes(t *testing.T) {
	rv := newReceiver(t)
	rv.status = 500
	path := writeCapture(t, "cap.ndjson",
		capRec{started, t0, "/", "application/json"},
		capRec{snapshot, t0.Add(time.Second), "/", "application/json"})
	off := false
	routes := route.Table{{Domain: "*", Endpoints: map[event.Family]route.Endpoint{
		event.FamilyStream:   {URL: rv.URL + "/stream"},
		event.FamilySnapshot: {URL: rv.URL + "/snap", Enabled: &off}}}}
	sum, outs := run(t, Options{Inputs: inputs(path), Routes: routes})
	if len(rv.requests()) != 1 || rv.requests()[0].Path != "/stream" {
		t.Fatalf("routing: %+v", rv.requests())
	}
	if sum.Missed != 1 || outs[0].OK || outs[0].Status != 500 || !sum.Failed() {
		t.Errorf("500 not reported as missed: %+v", outs[0])
	}
	if outs[1].State != Off || !strings.Contains(outs[1].Reason, "switched off") || sum.SwitchedOff != 1 {
		t.Errorf("switched-off family: %+v", outs[1])
	}

	// Dry run: nothing sent, the route and due offsets listed.
	rv2 := newReceiver(t)
	sum, outs = run(t, Options{Inputs: inputs(path), To: rv2.URL, DryRun: true, Speed: 2})
	if len(rv2.requests()) != 0 || sum.DryRun != 2 || outs[1].Offset != 500*time.Millisecond || outs[1].URL != rv2.URL {
		t.Errorf("dry run: %d sent, %+v", len(rv2.requests()), outs[1])
	}
}

// Requests other than POST that a listener captured (and answered 405) are
// not callbacks and are not replayed.
func TestReplaySkipsNonPOST(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cap.ndjson")
	w, err := capture.Create(path, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"GET", "POST"} {
		r := &capture.Record{Time: t0, Method: m, Target: "/", Header: http.Header{}}
		r.SetBody([]byte(started))
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	rv := newReceiver(t)
	sum, outs := run(t, Options{Inputs: inputs(path), To: rv.URL})
	if len(rv.requests()) != 1 || len(outs) != 1 || outs[0].Line != 2 || sum.Filtered != 1 {
		t.Errorf("sent %d, outcomes %+v", len(rv.requests()), outs)
	}
}

// A record captured with listen --redact is replayed, with a warning that
// its body is not what the sender sent.
func TestReplayWarnsAboutRedactedRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cap.ndjson")
	w, err := capture.Create(path, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, redacted := range []bool{true, false} {
		r := &capture.Record{Time: t0, Method: "POST", Target: "/", Header: http.Header{}, Redacted: redacted}
		r.SetBody([]byte(started))
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	rv := newReceiver(t)
	_, outs := run(t, Options{Inputs: inputs(path), To: rv.URL})
	if len(rv.requests()) != 2 || len(outs) != 2 {
		t.Fatalf("sent %d, outcomes %+v", len(rv.requests()), outs)
	}
	if len(outs[0].Warnings) != 1 || !strings.Contains(outs[0].Warnings[0], "the capture was redacted") || len(outs[1].Warnings) != 0 {
		t.Errorf("warnings %q and %q", outs[0].Warnings, outs[1].Warnings)
	}
}

func TestParseRanges(t *testing.T) {
	got, err := ParseRanges("3, 7-9,12-")
	if err != nil {
		t.Fatal(err)
	}
	want := Ranges{{3, 3}, {7, 9}, {12, math.MaxUint64}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v", got)
	}
	for _, n := range []uint64{3, 7, 9, 12, 1 << 40} {
		if !got.Contains(n) {
			t.Errorf("%d not contained", n)
		}
	}
	for _, n := range []uint64{1, 4, 10, 11} {
		if got.Contains(n) {
			t.Errorf("%d contained", n)
		}
	}
	for _, bad := range []string{"", "0", "x", "9-7", "-3", "1,,2"} {
		if _, err := ParseRanges(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// --preserve-path sends a captured target's exact bytes, not the U+FFFD
// the record shows where they are not UTF-8.
func TestPreservePathKeepsTheExactTarget(t *testing.T) {
	line := `{"format":"livecb.capture.v1","seq":1,"time":"2024-05-14T08:21:03.5Z","remote":"x","method":"POST","target":"/cb/\ufffd?a=\ufffd",` +
		`"target_raw":"` + base64.StdEncoding.EncodeToString([]byte("/cb/\xff?a=\xfe")) + `","header":{},"body":"{}","size":2,"answer":{"status":200}}` + "\n"
	rv := newReceiver(t)
	sum, _ := run(t, Options{Inputs: inputs(writeFile(t, "cap.ndjson", line)), To: rv.URL, PreservePath: true})
	got := rv.requests()
	if sum.Answered != 1 || len(got) != 1 || got[0].Path != "/cb/\xff" || got[0].Query != "a=\xfe" {
		t.Fatalf("%+v: %+v", sum, got)
	}
}

// TestSealedKindsHoldOnlyForTheirBodies: a capture record's kind is taken
// as it is while its seal holds (event.Seal); a body edited since, or a
// kind, is read again, and shows the kind the body is. (The record with a
// seal made for a kind its body is not shows that kind: the seal, not the
// body, is what was read, which is what makes the edited ones' a test.)
func TestSealedKindsHoldOnlyForTheirBodies(t *testing.T) {
	rv := newReceiver(t)
	sealed := func(kind event.Kind, body string) capture.Record {
		r := capture.Record{Time: t0, Method: "POST", Target: "/cb", Header: http.Header{"Content-Type": {"application/json"}}, Size: int64(len(body)), Kind: kind}
		r.SetBody([]byte(body))
		r.SealKind()
		return r
	}
	started := string(event.Fixture(event.PublishStarted))
	asIs := sealed(event.PublishDone, done)
	// The body edited after the capture: its kind and seal say publish_done.
	edited := sealed(event.PublishDone, done)
	edited.SetBody([]byte(started))
	// The kind edited after the capture, the body as it was.
	relabeled := sealed(event.PublishDone, done)
	relabeled.Kind = event.Snapshot
	// A seal made for a kind the body is not: taken at its word.
	forged := sealed(event.Snapshot, done)
	// Redacted: never sealed, read again.
	masked := sealed(event.PublishDone, done)
	masked.Redacted = true
	masked.SealKind()
	if masked.KindSeal != 0 {
		t.Fatalf("a redacted record was sealed: %d", masked.KindSeal)
	}
	var lines []byte
	for i, r := range []capture.Record{asIs, edited, relabeled, forged, masked} {
		r.Format = capture.Format
		enc, err := capture.Encode(&r, nil)
		if err != nil {
			t.Fatal(err)
		}
		lines = capture.AppendLine(lines, uint64(i+1), enc)
	}
	path := writeFile(t, "cap.ndjson", string(lines))
	_, outs := run(t, Options{Inputs: inputs(path), To: rv.URL + "/cb", MaxInFlight: 1})
	want := []event.Kind{event.PublishDone, event.PublishStarted, event.PublishDone, event.Snapshot, event.PublishDone}
	if len(outs) != len(want) {
		t.Fatalf("%d outcomes, want %d", len(outs), len(want))
	}
	for i, o := range outs {
		if o.Kind != want[i] {
			t.Errorf("record %d: kind %q, want %q", i+1, o.Kind, want[i])
		}
	}
	// Sent as they are, whatever their kind.
	got := rv.requests()
	if len(got) != 5 || string(got[1].Body) != started || string(got[3].Body) != done {
		t.Fatalf("bodies sent: %d, not as captured", len(got))
	}
}
