package inspect

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/livecb/livecb/internal/event"
)

// These tests drive a real headless Chromium through the pages. They skip
// when none is installed (Debian: apt-get install chromium). One browser is
// shared by the tests of the package; each test has its own tab.

var (
	browserOnce sync.Once
	browserCtx  context.Context
	browserSkip string
	browserStop []func()
)

func TestMain(m *testing.M) {
	code := m.Run()
	for i := len(browserStop) - 1; i >= 0; i-- {
		browserStop[i]()
	}
	os.Exit(code)
}

func chromiumPath() string {
	if p := os.Getenv("LIVECB_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

func startBrowser() {
	path := chromiumPath()
	if path == "" {
		browserSkip = "no Chromium on this machine (apt-get install chromium, or set LIVECB_CHROMIUM): the browser tests need one"
		return
	}
	dir, err := os.MkdirTemp("", "livecb-chromium-*")
	if err != nil {
		browserSkip = err.Error()
		return
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		// The machine's network is closed: without these Chromium keeps
		// trying to reach Google's services.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("font-render-hinting", "none"),
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(1280, 860),
		// Times on the pages are local: the same everywhere in UTC.
		chromedp.Env("TZ=UTC"),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	browserStop = append(browserStop, func() { os.RemoveAll(dir) }, cancelAlloc, cancel)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		browserSkip = "Chromium (" + path + ") does not start: " + err.Error()
		return
	}
	browserCtx = ctx
}

// tab opens a tab, with a generous time limit for everything the test does
// in it.
func tab(t *testing.T) context.Context {
	t.Helper()
	browserOnce.Do(startBrowser)
	if browserSkip != "" {
		t.Skip(browserSkip)
	}
	ctx, cancel := chromedp.NewContext(browserCtx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 860)); err != nil {
		t.Fatal(err)
	}
	tctx, tcancel := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(tcancel)
	return tctx
}

func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// js evaluates an expression in the page and returns its value (a
// promise's, once it settles).
func js[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// until waits for a JavaScript condition to hold in the page.
func until(t *testing.T, ctx context.Context, what, cond string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool]("!!("+cond+")", chromedp.WithPollingTimeout(90*time.Second),
		chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		t.Fatalf("waiting for %s (%s): %v", what, cond, err)
	}
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// safe checks that nothing of hostile text became markup or ran.
func safe(t *testing.T, ctx context.Context) {
	t.Helper()
	if n := js[int](t, ctx, `document.querySelectorAll('img, iframe, object, embed').length`); n != 0 {
		t.Errorf("%d elements made from data", n)
	}
	if n := js[int](t, ctx, `document.scripts.length`); n != 1 && n != 2 {
		t.Errorf("%d script elements", n)
	}
	if js[bool](t, ctx, `window.__pwned !== undefined || window.__pwned2 !== undefined`) {
		t.Error("a script from the data ran")
	}
}

const hostile = `<img src=x onerror=window.__pwned=1>`

// The live list shows callbacks posted to a real listener after the page
// opened; the detail marks findings at their paths; a resend with an edit
// reaches a real receiver with exactly the edited bytes; hostile text stays
// text everywhere.
func TestBrowserLive(t *testing.T) {
	ctx := tab(t)
	rcv := newReceiver(t)
	s := startLive(t, ServerOptions{})
	do(t, ctx, chromedp.Navigate(s.url))
	until(t, ctx, "the empty list", `document.querySelector('#rows tr.empty')`)

	post(t, s.l.url+"/stream", body(t, event.PublishStarted))
	drift := body(t, event.Snapshot, "snapshotTime", `"`+msOf(300)+`"`)
	post(t, s.l.url+"/snapshot", drift)
	evil := body(t, event.PublishStarted, "streamName", jsString(hostile))
	post(t, s.l.url+"/stream", evil, "X-Evil", "<script>window.__pwned2=1</script>")
	until(t, ctx, "three rows", `document.querySelectorAll('#rows tr.row').length === 3`)

	rows := js[[]string](t, ctx, `[...document.querySelectorAll('#rows tr.row')].map(r => r.querySelector('.kind').textContent + ' ' + r.querySelector('.stream').textContent + ' ' + r.querySelector('.verdict .badge').textContent)`)
	want := []string{"publish_started push.example.com/live/" + hostile + " valid", "snapshot push.example.com/live/cam1 warnings (1)", "publish_started push.example.com/live/cam1 valid"}
	if strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows\n%s\nwant\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
	safe(t, ctx)

	// Filters: by kind, then by free text.
	do(t, ctx, chromedp.SetValue(chromedp.ID("f-kind"), "snapshot"))
	js[bool](t, ctx, `document.getElementById('f-kind').dispatchEvent(new Event('change'))`)
	until(t, ctx, "one snapshot row", `document.querySelectorAll('#rows tr.row').length === 1 && document.querySelector('#rows .kind').textContent === 'snapshot'`)
	do(t, ctx, chromedp.Navigate(s.url+"#/?q=img"))
	until(t, ctx, "the hostile row found by text", `document.querySelectorAll('#rows tr.row').length === 1 && document.querySelector('#rows tr.row').dataset.id === '2'`)

	// The detail of the snapshot: the finding on the line of its path.
	do(t, ctx, chromedp.Navigate(s.url+"#/r/1"))
	until(t, ctx, "the detail", `document.querySelector('.code.pretty')`)
	marked := js[[]string](t, ctx, `[...document.querySelectorAll('.code.pretty .line.has-finding')].map(l => l.dataset.path + ' ' + l.nextElementSibling.dataset.code)`)
	if strings.Join(marked, ",") != "/snapshotTime type_drift" {
		t.Errorf("marked lines %q; want /snapshotTime type_drift", marked)
	}
	if txt := js[string](t, ctx, `document.querySelector('.code.pretty .line.has-finding .text').textContent`); txt != `  "snapshotTime": "`+msOf(300)+`",` {
		t.Errorf("marked line %q", txt)
	}
	if msg := js[string](t, ctx, `document.querySelector('.code.pretty .mark .msg').textContent`); !strings.Contains(msg, "is a string") {
		t.Errorf("mark message %q", msg)
	}

	// Copy as curl shows the command; save body downloads the exact bytes.
	do(t, ctx, chromedp.Click(chromedp.ID("copy-curl")))
	if cmd := js[string](t, ctx, `document.getElementById('cmd-text').value`); !strings.HasPrefix(cmd, "curl -sS -g --path-as-is '"+s.l.url+"/snapshot'") ||
		!strings.Contains(cmd, "--data-binary '"+string(drift)+"'") {
		t.Errorf("curl command shown:\n%s", cmd)
	}
	downloads := t.TempDir()
	do(t, ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		yes := true
		_, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads, EventsEnabled: &yes})
		return err
	}), chromedp.Click(chromedp.ID("save-body")))
	saved := filepath.Join(downloads, "snapshot-2.json")
	waitFor(t, "the download", func() bool { b, err := os.ReadFile(saved); return err == nil && len(b) == len(drift) })
	if got, _ := os.ReadFile(saved); string(got) != string(drift) {
		t.Errorf("saved %q, want the body %q", got, drift)
	}

	// Resend with an edit, validated as typed.
	edited := `{"version":"v1.1","publishDomain":"push.example.com","appName":"live","streamName":"cam1","snapshotTime":"12"}`
	do(t, ctx, chromedp.Click(chromedp.ID("resend-open")), chromedp.Click(chromedp.ID("resend-edit")))
	js[bool](t, ctx, `(() => { const u = document.getElementById('resend-url'); u.value = `+jsString(rcv.srv.URL+"/hook")+`;
		const a = document.getElementById('resend-body'); a.value = `+jsString(edited)+`; return a.dispatchEvent(new Event('input')); })()`)
	until(t, ctx, "the edited body's findings", `(() => { const c = document.querySelector('#resend-check .verdict-line'); return c && c.textContent === 'snapshot: invalid'; })()`)
	codes := js[[]string](t, ctx, `[...document.querySelectorAll('#resend-findings li')].map(l => l.dataset.code)`)
	if !contains(codes, "missing_field") || !contains(codes, "implausible_timestamp") {
		t.Errorf("edited body's findings %q", codes)
	}
	do(t, ctx, chromedp.Click(chromedp.ID("resend-send")))
	until(t, ctx, "the answer", `document.querySelector('#resend-result .resend-answer')`)
	if ans := js[string](t, ctx, `document.querySelector('#resend-result .resend-answer').textContent`); !strings.HasPrefix(ans, "202 from "+rcv.srv.URL+"/hook") {
		t.Errorf("answer shown %q", ans)
	}
	if got, _ := rcv.got(); len(got) != 1 || string(got[0]) != edited {
		t.Errorf("the receiver got %q, want exactly %q", got, edited)
	}

	// The hostile stream: detail, headers and timeline show it as text.
	do(t, ctx, chromedp.Navigate(s.url+"#/r/2"))
	until(t, ctx, "the hostile detail", `document.querySelector('table.headers')`)
	if !js[bool](t, ctx, `[...document.querySelectorAll('table.headers td')].some(td => td.textContent === '<script>window.__pwned2=1</script>')`) {
		t.Error("the hostile header is not shown as text")
	}
	if !js[bool](t, ctx, `document.querySelector('.stream-link').textContent === `+jsString("push.example.com/live/"+hostile)) {
		t.Error("the hostile stream name is not shown as text")
	}
	do(t, ctx, chromedp.Click(chromedp.CSS(".stream-link")))
	until(t, ctx, "the hostile timeline", `document.querySelector('svg#timeline')`)
	if !js[bool](t, ctx, `document.querySelector('svg#timeline > title').textContent === `+jsString("timeline of push.example.com/live/"+hostile)) {
		t.Error("the SVG title is not the stream name as text")
	}
	safe(t, ctx)
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// streamCapture is the capture of TestAnalyzeWholeStream's stream, posted
// to a real listener, then a hostile one.
func streamCapture(t *testing.T) string {
	snap := func(s int) []byte { return body(t, event.Snapshot, "snapshotTime", msOf(s)) }
	return captureOf(t, "/cb",
		body(t, event.PublishStarted), snap(60), snap(120), snap(60),
		body(t, event.Quality, "startTime", msOf(150), "endTime", msOf(160)),
		snap(180), snap(240), snap(420), body(t, event.PublishDone), body(t, event.RecordDone), body(t, event.TaskRecordDone),
		body(t, event.RecordDone, "beginTime", msOf(700), "endTime", msOf(800)),
		body(t, event.PublishDone, "streamName", jsString(hostile)),
		body(t, event.PublishDone, "streamName", jsString(breakout)),
	)
}

type drawn struct {
	Publish, Snapshots, Quality, Records, Groups, Marks int
	Codes                                               []string
}

func timelineDrawn(t *testing.T, ctx context.Context) drawn {
	t.Helper()
	var d drawn
	q := func(sel string) int {
		return js[int](t, ctx, `document.querySelectorAll('svg#timeline `+sel+`').length`)
	}
	d.Publish, d.Snapshots, d.Quality, d.Records, d.Groups, d.Marks = q("rect.publish"), q("line.snapshot"), q("rect.quality"), q("rect.record"), q("rect.group"), q("path.anomaly-mark")
	d.Codes = js[[]string](t, ctx, `[...document.querySelectorAll('#anomalies li.anomaly')].map(l => l.dataset.code)`)
	return d
}

var wantDrawn = drawn{Publish: 1, Snapshots: 5, Quality: 1, Records: 3, Groups: 2, Marks: 3,
	Codes: []string{AnomalyDuplicate, AnomalySnapshotGap, AnomalyOutsideLive}}

// The timeline draws the stream's events as SVG and flags its anomalies;
// the exported report, opened from file://, shows the same.
func TestBrowserTimelineAndReport(t *testing.T) {
	ctx := tab(t)
	path := streamCapture(t)
	in, err := Open([]string{path}, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	srv, err := NewServer(in, ServerOptions{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	defer srv.Shutdown(context.Background())
	key := url.PathEscape("push.example.com/live/cam1")
	do(t, ctx, chromedp.Navigate(srv.URL()+"#/t/"+key))
	until(t, ctx, "the timeline", `document.querySelector('svg#timeline')`)
	served := timelineDrawn(t, ctx)
	if fmt.Sprint(served) != fmt.Sprint(wantDrawn) {
		t.Errorf("served timeline drew %+v, want %+v", served, wantDrawn)
	}
	// The anomaly marks sit where their callbacks are: the gap starts at
	// the snapshot of 240 s, at 240/800 of the drawn width.
	x := js[float64](t, ctx, `parseFloat(document.querySelector('path.anomaly-mark[data-code=snapshot_gap]').getAttribute('d').split(' ')[0].slice(1))`)
	if want := 110 + 240.0/800*(1000-110-20); x < want-0.5 || x > want+0.5 {
		t.Errorf("the gap is flagged at x=%.1f, want %.1f", x, want)
	}

	// The report.
	report := filepath.Join(t.TempDir(), "report.html")
	f, err := os.Create(report)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Export(f, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	do(t, ctx, chromedp.Navigate("file://"+report))
	until(t, ctx, "the report's list", `document.querySelectorAll('#rows tr.row').length === 14`)
	streams := js[[]string](t, ctx, `[...document.querySelectorAll('#rows tr.row .stream')].slice(0, 2).map(td => td.textContent)`)
	if strings.Join(streams, "\n") != "push.example.com/live/"+breakout+"\npush.example.com/live/"+hostile {
		t.Errorf("newest rows' streams %q", streams)
	}
	safe(t, ctx)
	do(t, ctx, chromedp.Navigate("file://"+report+"#/r/1"))
	until(t, ctx, "the report's detail", `document.querySelector('.code.pretty')`)
	do(t, ctx, chromedp.Navigate("file://"+report+"#/t/"+key))
	until(t, ctx, "the report's timeline", `document.querySelector('svg#timeline')`)
	if got := timelineDrawn(t, ctx); fmt.Sprint(got) != fmt.Sprint(served) {
		t.Errorf("the report's timeline drew %+v, the served one %+v", got, served)
	}
	do(t, ctx, chromedp.Navigate("file://"+report+"#/t/"+url.PathEscape("push.example.com/live/"+hostile)))
	until(t, ctx, "the hostile timeline", `document.querySelector('svg#timeline')`)
	if !js[bool](t, ctx, `document.querySelector('h2.timeline-title').textContent === `+jsString("push.example.com/live/"+hostile)) {
		t.Error("the hostile title is not text")
	}
	if !js[bool](t, ctx, `[...document.querySelectorAll('#anomalies li')].some(l => l.dataset.code === 'done_without_start')`) {
		t.Error("the hostile stream's done without start is not flagged")
	}
	safe(t, ctx)
}

// The contract suite's report opens from file:// and groups cases by rule
// family.
func TestBrowserTestReport(t *testing.T) {
	ctx := tab(t)
	rep := TestReport{Target: "http://127.0.0.1:3000/cb?token=s3cret", Seed: 7, Started: t0, Duration: 1500 * time.Millisecond,
		Cases: []TestCase{
			{Name: "sample/record_done", Family: "sample", Rule: "a receiver accepts the spec's sample", Outcome: "pass", Duration: 3 * time.Millisecond,
				Exchanges: []TestExchange{{Kind: "record_done", URL: "http://127.0.0.1:3000/cb?token=s3cret", Status: 200, Request: body(t, event.RecordDone), Answer: []byte("ok")}}},
			{Name: "drift/snapshot/number-as-string", Family: "drift", Rule: "numbers may come as strings", Outcome: "fail", Reason: "answered 500, want 200",
				Exchanges: []TestExchange{{Kind: "snapshot", URL: "http://127.0.0.1:3000/cb", Status: 500, Request: []byte(`{"n":163594946396839936123}`), Answer: []byte(hostile), Failed: true}}},
			{Name: "drift/quality/x", Family: "drift", Rule: "r", Outcome: "pass"},
			{Name: "names/" + hostile, Family: "names", Rule: hostile, Outcome: "skip", Reason: "family switched off"},
		}}
	report := filepath.Join(t.TempDir(), "test.html")
	f, _ := os.Create(report)
	if err := WriteTestReport(f, rep); err != nil {
		t.Fatal(err)
	}
	f.Close()
	do(t, ctx, chromedp.Navigate("file://"+report))
	until(t, ctx, "the families", `document.querySelectorAll('section.family').length === 3`)
	fams := js[[]string](t, ctx, `[...document.querySelectorAll('section.family')].map(s => s.dataset.family + ':' + [...s.querySelectorAll('details.case')].map(c => c.dataset.case + '=' + [...c.classList].pop()).join(','))`)
	want := []string{"sample:sample/record_done=pass", "drift:drift/snapshot/number-as-string=fail,drift/quality/x=pass", "names:names/" + hostile + "=skip"}
	if strings.Join(fams, "\n") != strings.Join(want, "\n") {
		t.Errorf("families\n%s\nwant\n%s", strings.Join(fams, "\n"), strings.Join(want, "\n"))
	}
	// The failure is open, with its reason, request (exact digits) and answer.
	if !js[bool](t, ctx, `document.querySelector('details.case.fail').open`) {
		t.Error("the failed case is not open")
	}
	if got := js[string](t, ctx, `document.querySelector('details.case.fail .req-body').textContent`); got != "{\n  \"n\": 163594946396839936123\n}" {
		t.Errorf("request shown %q", got)
	}
	if got := js[string](t, ctx, `document.querySelector('details.case.fail .answer-body').textContent`); got != hostile {
		t.Errorf("answer shown %q", got)
	}
	if txt := js[string](t, ctx, `document.body.textContent`); strings.Contains(txt, "s3cret") {
		t.Error("the report shows the target's secret")
	}
	safe(t, ctx)
}

// A page of another site cannot make the inspector resend: its form post
// (the only request it can send without the inspector's consent) is
// refused 403, and its fetch never reaches the receiver.
func TestBrowserCrossSitePostRefused(t *testing.T) {
	ctx := tab(t)
	rcv := newReceiver(t)
	s := startLive(t, ServerOptions{ForwardTo: rcv.srv.URL})
	post(t, s.l.url+"/stream", body(t, event.PublishStarted))
	waitFor(t, "the request", func() bool { return s.in.Len() == 1 })
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><form id=f method=POST enctype=text/plain action="%sapi/resend"><input name='{"id":0,"x":"' value='"}'></form>
<script>
fetch(%q, {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"}, body: '{"id":0}'}).finally(() => document.getElementById("f").submit());
</script>`, s.url, s.url+"api/resend")
	}))
	defer evil.Close()
	do(t, ctx, chromedp.Navigate(evil.URL))
	// The page navigates away on its own: poll from here, across the
	// navigation (a poll inside the page ends with it).
	deadline := time.Now().Add(90 * time.Second)
	for {
		done, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`location.href.endsWith('/api/resend') && document.readyState === 'complete'`))
		if err == nil && done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the form's answer never loaded (%v)", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st := js[int](t, ctx, `performance.getEntriesByType('navigation')[0].responseStatus`); st != 403 {
		t.Errorf("the cross-site form got %d, want 403", st)
	}
	if txt := js[string](t, ctx, `document.body.textContent`); !strings.Contains(txt, "livecb inspector: cross-site request refused") {
		t.Errorf("the cross-site form got %q", txt)
	}
	// (the fetch was answered before the form was sent)
	if got, _ := rcv.got(); len(got) != 0 {
		t.Errorf("a cross-site request made the inspector resend: %q", got)
	}
}
