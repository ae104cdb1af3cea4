package send

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/deliver"
	"github.com/livecb/livecb/internal/event"
)

// counter is a receiver that keeps every body and counts connections.
type counter struct {
	mu     sync.Mutex
	bodies [][]byte
	conns  int
	// answer picks the status of the n-th request (from 1).
	answer func(n int) int
	delay  time.Duration
}

func (c *counter) start(t *testing.T) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.bodies = append(c.bodies, b)
		n := len(c.bodies)
		c.mu.Unlock()
		if c.delay > 0 {
			time.Sleep(c.delay)
		}
		status := 200
		if c.answer != nil {
			status = c.answer(n)
		}
		w.WriteHeader(status)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			c.mu.Lock()
			c.conns++
			c.mu.Unlock()
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

func (c *counter) snapshot() (bodies [][]byte, conns int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.bodies...), c.conns
}

func prepare(t *testing.T, kinds []event.Kind, lo LoadBodyOptions, to string) *LoadBodies {
	t.Helper()
	lb, err := PrepareLoad(kinds, opts(), lo)
	if err != nil {
		t.Fatal(err)
	}
	if bad := lb.Validate(); bad != nil {
		t.Fatalf("pooled body invalid: %s %v", bad.Body, bad.Findings)
	}
	if err := lb.Route(to, nil); err != nil {
		t.Fatal(err)
	}
	return lb
}

func newLoad(lb *LoadBodies, conc int) *Load {
	p, err := deliver.NewPoster(deliver.Policy{Timeout: 5 * time.Second}, conc)
	if err != nil {
		panic(err)
	}
	return &Load{Poster: p, Bodies: lb, Concurrency: conc, Engine: testEngine}
}

// testEngine is the Pump engine the load tests run on: the default (the
// event loop, on Linux), and again on goroutines (TestLoadOnGoroutines).
var testEngine deliver.Engine

// TestLoadOnGoroutines runs the load tests with a goroutine per
// connection, the engine of the systems without the event loop and of
// https runs.
func TestLoadOnGoroutines(t *testing.T) {
	testEngine = deliver.EngineGoroutines
	defer func() { testEngine = deliver.EngineAuto }()
	for name, test := range map[string]func(*testing.T){
		"CountIsExact": TestLoadCountIsExactAndEveryRequestIsItsOwnStream, "KindsTakeTurns": TestLoadKindsTakeTurnsAboutOneStreamPerRound,
		"SameBody": TestLoadSameBody, "RateIsHeld": TestLoadRateIsHeld, "OpenLoop": TestLoadOpenLoopShowsSlowReceiverAsLatency,
		"DurationStops": TestLoadDurationStops, "StatusesAndCauses": TestLoadCountsStatusesAndCauses, "Interrupt": TestLoadInterrupt,
		"Hostile": TestLoadAgainstHostileReceivers, "Redirects": TestLoadFollowsRedirectsAsSingleSendsDo,
		"DueButNeverSent": TestLoadCountsRequestsDueButNeverSent,
	} {
		t.Run(name, test)
	}
}

// names returns the stream names of bodies, each checked valid, and how
// many bodies each kind had.
func names(t *testing.T, bodies [][]byte) (map[string]int, map[event.Kind]int) {
	t.Helper()
	streams, kinds := map[string]int{}, map[event.Kind]int{}
	for _, b := range bodies {
		ev := check(t, b)
		streams[ev.Identity().Stream]++
		kinds[ev.Kind]++
	}
	return streams, kinds
}

func TestLoadCountIsExactAndEveryRequestIsItsOwnStream(t *testing.T) {
	var c counter
	url := c.start(t)
	lb := prepare(t, []event.Kind{event.RecordDone}, LoadBodyOptions{Pool: 64}, url)
	l := newLoad(lb, 8)
	l.Count = 1000
	rep, err := l.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	bodies, conns := c.snapshot()
	if len(bodies) != 1000 || rep.Requests != 1000 || rep.Answered != 1000 || rep.Matched != 1000 || rep.Statuses[200] != 1000 {
		t.Fatalf("received %d; report %+v", len(bodies), rep)
	}
	streams, _ := names(t, bodies)
	if len(streams) != 1000 {
		t.Errorf("%d distinct stream names in 1000 requests", len(streams))
	}
	if !strings.HasPrefix(string(check(t, bodies[0]).Identity().Stream), lb.Base+"-") {
		t.Errorf("stream name %q does not start with %q", check(t, bodies[0]).Identity().Stream, lb.Base)
	}
	// 64 pooled streams, but every request its own times.
	ends := map[string]bool{}
	for _, b := range bodies {
		ends[check(t, b).Number("endTime")] = true
	}
	if len(ends) != 1000 {
		t.Errorf("%d distinct endTime values in 1000 requests from a pool of 64", len(ends))
	}
	if conns > 8 {
		t.Errorf("%d connections for concurrency 8: not kept alive", conns)
	}
	lat := rep.Latency
	if !(lat.Min > 0 && lat.Min <= lat.P50 && lat.P50 <= lat.P90 && lat.P90 <= lat.P99 && lat.P99 <= lat.P999 && lat.P999 <= lat.Max) {
		t.Errorf("latency %+v", lat)
	}
	if rep.Throughput <= 0 || rep.ErrorRate() != 0 || rep.Failed != 0 {
		t.Errorf("throughput %v, error rate %v", rep.Throughput, rep.ErrorRate())
	}
}

func TestLoadKindsTakeTurnsAboutOneStreamPerRound(t *testing.T) {
	var c counter
	url := c.start(t)
	lb := prepare(t, []event.Kind{event.PublishStarted, event.PublishDone}, LoadBodyOptions{Pool: 10}, url)
	l := newLoad(lb, 4)
	l.Count = 300
	rep, err := l.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	bodies, _ := c.snapshot()
	streams, kinds := names(t, bodies)
	if rep.Matched != 300 || kinds[event.PublishStarted] != 150 || kinds[event.PublishDone] != 150 || len(streams) != 150 {
		t.Fatalf("report %+v, kinds %v, %d streams", rep, kinds, len(streams))
	}
	for s, n := range streams {
		if n != 2 {
			t.Fatalf("stream %s got %d callbacks, want started and done", s, n)
		}
	}
}

func TestLoadSameBody(t *testing.T) {
	var c counter
	url := c.start(t)
	lb := prepare(t, []event.Kind{event.Snapshot}, LoadBodyOptions{Same: true}, url)
	l := newLoad(lb, 4)
	l.Count = 50
	_, err := l.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	bodies, _ := c.snapshot()
	if len(bodies) != 50 {
		t.Fatalf("%d requests", len(bodies))
	}
	check(t, bodies[0])
	for _, b := range bodies {
		if !bytes.Equal(b, bodies[0]) {
			t.Fatalf("bodies differ with Same:\n%s\n%s", b, bodies[0])
		}
	}
}

func TestLoadDataAndVerbatimSendOneBody(t *testing.T) {
	o := opts()
	o.Verbatim = true
	lb, err := PrepareLoad([]event.Kind{event.RecordDone}, o, LoadBodyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !lb.Same {
		t.Fatal("verbatim bodies should be the same every time")
	}
	_, b := lb.Request(7, nil)
	if !bytes.Equal(b, event.Fixture(event.RecordDone)) {
		t.Fatalf("body %s", b)
	}
}

func TestLoadRateIsHeld(t *testing.T) {
	var c counter
	url := c.start(t)
	lb := prepare(t, []event.Kind{event.PublishDone}, LoadBodyOptions{Pool: 8}, url)
	l := newLoad(lb, 4)
	l.Count, l.Rate = 100, 200 // half a second
	rep, err := l.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Matched != 100 {
		t.Fatalf("report %+v", rep)
	}
	// The 100th request is due at 495 ms: it cannot leave sooner.
	if rep.Elapsed < 490*time.Millisecond || rep.Elapsed > 3*time.Second {
		t.Errorf("100 requests at 200/s took %s", rep.Elapsed)
	}
}

func TestLoadOpenLoopShowsSlowReceiverAsLatency(t *testing.T) {
	c := counter{delay: 50 * time.Millisecond}
	url := c.start(t)
	lb := prepare(t, []event.Kind{event.PublishDone}, LoadBodyOptions{Pool: 4}, url)
	l := newLoad(lb, 1)
	// One sender, 100/s asked, 50 ms per answer: requests queue, and the
	// last one waits ~20 × 40 ms beyond its moment.
	l.Count, l.Rate = 20, 100
	rep, err := l.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Matched != 20 {
		t.Fatalf("report %+v", rep)
	}
	if rep.Latency.Max < 500*time.Millisecond {
		t.Errorf("max latency %s: queueing behind a slow receiver is not counted", rep.Latency.Max)
	}
}

func TestLoadDurationStops(t *testing.T) {
	var c counter
	url := c.start(t)
	lb := prepare(t, []event.Kind{event.PublishDone}, LoadBodyOptions{Pool: 8}, url)
	l := newLoad(lb, 4)
	l.Duration = 300 * time.Millisecond
	begin := time.Now()
	rep, err := l.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begin); took > 3*time.Second {
		t.Fatalf("a 300ms run took %s", took)
	}
	bodies, _ := c.snapshot()
	if rep.Requests == 0 || int64(len(bodies)) != rep.Requests {
		t.Fatalf("received %d, report %d", len(bodies), rep.Requests)
	}

	// With a rate, exactly the requests due before the end are sent (or
	// fewer on a starved machine).
	var c2 counter
	url = c2.start(t)
	lb = prepare(t, []event.Kind{event.PublishDone}, LoadBodyOptions{Pool: 8}, url)
	l = newLoad(lb, 4)
	l.Duration, l.Rate = 500*time.Millisecond, 100
	rep, err = l.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requests > 50 || rep.Requests < 25 {
		t.Errorf("100/s for 500ms sent %d", rep.Requests)
	}
}

func TestLoadCountsStatusesAndCauses(t *testing.T) {
	c := counter{answer: func(n int) int {
		if n%10 == 0 {
			return 503
		}
		return 200
	}}
	url := c.start(t)
	lb := prepare(t, []event.Kind{event.Snapshot}, LoadBodyOptions{Pool: 8}, url)
	l := newLoad(lb, 5)
	l.Count = 200
	rep, err := l.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Statuses[200] != 180 || rep.Statuses[503] != 20 || rep.Missed != 20 || rep.Matched != 180 || rep.ErrorRate() != 0.1 {
		t.Fatalf("report %+v", rep)
	}
	if sc := rep.StatusCounts(); len(sc) != 2 || sc[0] != (StatusCount{200, 180}) {
		t.Errorf("status counts %v", sc)
	}
	if done, errs := l.Progress(); done != 200 || errs != 20 {
		t.Errorf("progress %d done, %d errors", done, errs)
	}

	// Nothing listens on a closed port.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := "http://" + ln.Addr().String() + "/cb"
	ln.Close()
	lb = prepare(t, []event.Kind{event.Snapshot}, LoadBodyOptions{Pool: 8}, closed)
	l = newLoad(lb, 3)
	l.Count = 30
	rep, err = l.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed != 30 || rep.Causes[deliver.CauseRefused] != 30 || rep.Answered != 0 || rep.FirstFailure == nil || rep.FirstFailure.URL != closed {
		t.Fatalf("report %+v", rep)
	}
}

func TestLoadInterrupt(t *testing.T) {
	c := counter{delay: 200 * time.Millisecond}
	url := c.start(t)
	lb := prepare(t, []event.Kind{event.Snapshot}, LoadBodyOptions{Pool: 2}, url)
	l := newLoad(lb, 2)
	l.Count = 1000
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	begin := time.Now()
	rep, err := l.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Interrupted || time.Since(begin) > 3*time.Second || rep.Requests > 10 {
		t.Fatalf("interrupted run: %+v after %s", rep, time.Since(begin))
	}
}

func TestEmitVegetaTargets(t *testing.T) {
	lb := prepare(t, []event.Kind{event.PublishStarted, event.RecordDone}, LoadBodyOptions{Pool: 16}, "http://127.0.0.1:9/cb")
	h := http.Header{"Content-Type": {"application/json"}, "User-Agent": {"livecb/test"}, "X-Token": {"a"}}
	e := &Emit{Bodies: lb, Header: h, Count: 100}
	var out bytes.Buffer
	if err := e.Vegeta(&out); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&out)
	var bodies [][]byte
	for sc.Scan() {
		var tgt struct {
			Method string              `json:"method"`
			URL    string              `json:"url"`
			Body   string              `json:"body"`
			Header map[string][]string `json:"header"`
		}
		if err := json.Unmarshal(sc.Bytes(), &tgt); err != nil {
			t.Fatalf("line %d: %v: %s", len(bodies)+1, err, sc.Bytes())
		}
		body, err := base64.StdEncoding.DecodeString(tgt.Body)
		if err != nil {
			t.Fatal(err)
		}
		if tgt.Method != "POST" || tgt.URL != "http://127.0.0.1:9/cb" || tgt.Header["X-Token"][0] != "a" || tgt.Header["Content-Type"][0] != "application/json" {
			t.Fatalf("target %+v", tgt)
		}
		bodies = append(bodies, body)
	}
	streams, kinds := names(t, bodies)
	if len(bodies) != 100 || len(streams) != 50 || kinds[event.RecordDone] != 50 {
		t.Fatalf("%d targets, %d streams, kinds %v", len(bodies), len(streams), kinds)
	}
	// 50 rounds from a pool of 16: the emitted bodies have their own
	// times too.
	begins := map[string]bool{}
	for _, b := range bodies {
		if ev := check(t, b); ev.Kind == event.RecordDone {
			begins[ev.Number("beginTime")] = true
		}
	}
	if len(begins) != 50 {
		t.Errorf("%d distinct beginTime values in 50 rounds", len(begins))
	}
}

// TestEmitVegetaRunsInVegeta feeds the targets to a real vegeta, when one
// is installed (bench/run installs it).
func TestEmitVegetaRunsInVegeta(t *testing.T) {
	bin, err := exec.LookPath("vegeta")
	if err != nil {
		if home, _ := os.UserHomeDir(); home != "" {
			bin, err = exec.LookPath(filepath.Join(home, "go", "bin", "vegeta"))
		}
		if err != nil {
			t.Skip("vegeta is not installed (go install github.com/tsenart/vegeta/v12@v12.13.0)")
		}
	}
	var c counter
	url := c.start(t)
	lb := prepare(t, []event.Kind{event.TaskRecordDone}, LoadBodyOptions{Pool: 16}, url)
	file := filepath.Join(t.TempDir(), "targets.json")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	e := &Emit{Bodies: lb, Header: http.Header{"Content-Type": {"application/json"}}, Count: 40}
	if err := e.Vegeta(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// -lazy reads the targets as it goes and stops when they run out.
	cmd := exec.Command(bin, "attack", "-format=json", "-targets="+file, "-lazy", "-rate=0", "-max-workers=4", "-workers=4", "-output=/dev/null")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("vegeta: %v\n%s", err, out)
	}
	bodies, _ := c.snapshot()
	streams, kinds := names(t, bodies)
	if len(bodies) != 40 || len(streams) != 40 || kinds[event.TaskRecordDone] != 40 {
		t.Fatalf("vegeta delivered %d bodies, %d streams", len(bodies), len(streams))
	}
	// Every digit of the big task id survived.
	for _, b := range bodies {
		if !bytes.Contains(b, []byte(`"taskExternalId":"`)) && !bytes.Contains(b, []byte(`"taskExternalId":`)) {
			t.Fatalf("no task id in %s", b)
		}
	}
}

func TestEmitK6Script(t *testing.T) {
	lb := prepare(t, []event.Kind{event.Quality}, LoadBodyOptions{Pool: 4}, "http://127.0.0.1:9/q")
	expect, _ := deliver.ParseExpect("200,204")
	e := &Emit{Bodies: lb, Header: http.Header{"Content-Type": {"application/json"}}, Count: 10, Concurrency: 3, Rate: 5, Expect: expect}
	var out bytes.Buffer
	if err := e.K6(&out); err != nil {
		t.Fatal(err)
	}
	script := out.String()
	for _, want := range []string{"import http from 'k6/http';", "executor: 'constant-arrival-rate', rate: 5", "duration: '2s'", "const expected = [200,204];", "export default function"} {
		if !strings.Contains(script, want) {
			t.Errorf("script lacks %q", want)
		}
	}
	// The requests array is JSON: parse it and validate every body.
	start := strings.Index(script, "const requests = [\n") + len("const requests = ")
	end := strings.Index(script, "];\n\nexport default")
	arr := strings.TrimSuffix(script[start:end], ",\n") + "]"
	var reqs [][2]string
	if err := json.Unmarshal([]byte(arr), &reqs); err != nil {
		t.Fatalf("requests array: %v", err)
	}
	var bodies [][]byte
	for _, r := range reqs {
		if r[0] != "http://127.0.0.1:9/q" {
			t.Fatalf("url %s", r[0])
		}
		bodies = append(bodies, []byte(r[1]))
	}
	if streams, _ := names(t, bodies); len(bodies) != 10 || len(streams) != 10 {
		t.Fatalf("%d bodies, %d streams", len(bodies), len(streams))
	}
}

func TestPoolIsReproducibleWithASeed(t *testing.T) {
	a, _ := PrepareLoad([]event.Kind{event.RecordDone}, BodyOptions{Now: now, Rand: rand.New(rand.NewPCG(5, 5))}, LoadBodyOptions{Pool: 32})
	b, _ := PrepareLoad([]event.Kind{event.RecordDone}, BodyOptions{Now: now, Rand: rand.New(rand.NewPCG(5, 5))}, LoadBodyOptions{Pool: 32})
	for i := int64(0); i < 64; i++ {
		_, x := a.Request(i, nil)
		_, y := b.Request(i, nil)
		if !bytes.Equal(x, y) {
			t.Fatalf("request %d differs:\n%s\n%s", i, x, y)
		}
	}
}
