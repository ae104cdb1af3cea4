package deliver

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// engines are the Pump's engines, each tested alike.
var engines = []struct {
	name   string
	engine Engine
}{{"loop", EngineLoop}, {"goroutines", EngineGoroutines}}

// listFeed gives a list of jobs, in order, and keeps each one's result by
// its ID.
type listFeed struct {
	mu      sync.Mutex
	jobs    []Job
	next    int
	results map[int64]Result
	sent    map[int64]bool
	conns   map[int64]int
	dones   atomic.Int64
}

func newListFeed(jobs ...Job) *listFeed {
	for i := range jobs {
		jobs[i].ID = int64(i)
	}
	return &listFeed{jobs: jobs, results: map[int64]Result{}, sent: map[int64]bool{}, conns: map[int64]int{}}
}

func (f *listFeed) Next(conn int, buf []byte) (Job, NextState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.next == len(f.jobs) {
		return Job{}, JobEnd
	}
	j := f.jobs[f.next]
	f.next++
	j.Body = append(buf, j.Body...)
	return j, JobReady
}

func (f *listFeed) Done(conn int, j Job, res Result) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, dup := f.results[j.ID]; dup {
		panic(fmt.Sprintf("job %d given back twice", j.ID))
	}
	f.results[j.ID], f.sent[j.ID], f.conns[j.ID] = res, j.Sent, conn
	f.dones.Add(1)
}

// pumpAll sends jobs through a Pump of conns connections under p with
// engine, and returns their results in order.
func pumpAll(t *testing.T, p Policy, engine Engine, conns int, reqs ...Job) []Result {
	t.Helper()
	ps, err := NewPoster(p, conns)
	if err != nil {
		t.Fatal(err)
	}
	defer ps.CloseIdle()
	f := newListFeed(reqs...)
	ps.NewPump(PumpOptions{Conns: conns, Engine: engine}, f).Run(context.Background())
	out := make([]Result, len(reqs))
	for i := range reqs {
		res, ok := f.results[int64(i)]
		if !ok {
			t.Fatalf("job %d never given back", i)
		}
		out[i] = res
	}
	return out
}

// target is a Target of a throwaway Poster under p, for a Job.
func target(t *testing.T, p Policy, url string) *Target {
	t.Helper()
	ps, err := NewPoster(p, 1)
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := ps.Target(url)
	if err != nil {
		t.Fatal(err)
	}
	return &tgt
}

// pumpTarget makes the Poster and its targets first, as a caller does.
type pumped struct {
	ps      *Poster
	targets map[string]*Target
}

func newPumped(t *testing.T, p Policy, conns int, urls ...string) *pumped {
	t.Helper()
	ps, err := NewPoster(p, conns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ps.CloseIdle)
	pp := &pumped{ps: ps, targets: map[string]*Target{}}
	for _, u := range urls {
		tgt, err := ps.Target(u)
		if err != nil {
			t.Fatal(err)
		}
		pp.targets[u] = &tgt
	}
	return pp
}

func (pp *pumped) run(engine Engine, conns int, jobs ...Job) *listFeed {
	f := newListFeed(jobs...)
	pp.ps.NewPump(PumpOptions{Conns: conns, Engine: engine}, f).Run(context.Background())
	return f
}

// TestPumpWritesWhatTheClientWrites: each engine writes, request by
// request, what the Client writes: bodies of other lengths, another
// target, a redirect (followed on the Poster's path) and back, an empty
// body.
func TestPumpWritesWhatTheClientWrites(t *testing.T) {
	s := movedReceiver(t)
	policy := Policy{UserAgent: "livecb/1.0", Header: http.Header{"X-A": {"1", "2"}, "Authorization": {"Bearer s"}}}
	client := NewClient(policy)
	steps := []struct{ path, body string }{
		{"/cb?a=1", `{"a":1}`}, {"/cb?a=1", `{"a":12345}`}, {"/cb?a=1", `{}`}, {"/other", `{"b":2}`},
		{"/cb?a=1", `{"a":1}`}, {"/moved", `{"c":3}`}, {"/moved", `{"c":34}`}, {"/cb?a=1", ``},
		{"/cb?a=1", strings.Repeat("x", 200<<10)},
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			var urls []string
			for _, st := range steps {
				urls = append(urls, s.URL+st.path)
			}
			pp := newPumped(t, policy, 1, urls...)
			var jobs []Job
			for _, st := range steps {
				jobs = append(jobs, Job{Target: pp.targets[s.URL+st.path], Body: []byte(st.body)})
			}
			f := pp.run(e.engine, 1, jobs...)
			viaPump := s.Take()
			for i, st := range steps {
				if res := f.results[int64(i)]; res.Err != nil || !res.Matched || res.Status != 200 || res.URL != s.URL+st.path {
					t.Fatalf("job %d: %d %v (%s)", i, res.Status, res.Err, res.URL)
				}
				if c := client.Do(context.Background(), Request{URL: s.URL + st.path, Body: []byte(st.body)}, nil); c.Err != nil {
					t.Fatal(c.Err)
				}
			}
			viaClient := s.Take()
			if strings.Join(viaPump, "|") != strings.Join(viaClient, "|") {
				t.Errorf("the Pump wrote %q\nthe Client     %q", viaPump, viaClient)
			}
		})
	}
}

// TestPumpFollowsRedirectsAsTheClientDoes: the outcome of every redirect
// case is the Client's, on each engine.
func TestPumpFollowsRedirectsAsTheClientDoes(t *testing.T) {
	s, other := redirectingReceivers(t)
	body := []byte(`{"a":1}`)
	for _, follow := range []bool{false, true} {
		policy := Policy{UserAgent: "livecb/1.0", FollowRedirects: follow}
		client := NewClient(policy)
		for _, e := range engines {
			for _, path := range []string{"/same", "/see-other", "/away", "/loop", "/nowhere"} {
				url := s.URL + path
				c := client.Do(context.Background(), Request{URL: url, Body: body}, nil)
				viaClient := append(s.Take(), other.Take()...)
				pp := newPumped(t, policy, 1, url)
				res := pp.run(e.engine, 1, Job{Target: pp.targets[url], Body: body}).results[0]
				viaPump := append(s.Take(), other.Take()...)
				name := fmt.Sprintf("%s %s (follow %v)", e.name, path, follow)
				if res.Status != c.Status || res.Cause != c.Cause || res.Matched != c.Matched || (res.Err == nil) != (c.Err == nil) {
					t.Errorf("%s: %d %q %v matched %v, the Client %d %q %v matched %v", name, res.Status, res.Cause, res.Err, res.Matched,
						c.Status, c.Cause, c.Err, c.Matched)
				}
				if strings.Join(viaPump, "|") != strings.Join(viaClient, "|") {
					t.Errorf("%s wrote %q\nthe Client %q", name, viaPump, viaClient)
				}
			}
		}
	}
}

// TestPumpMaxResponse: the same bound as every path, announced or
// counted, and a chunked answer within it read whole.
func TestPumpMaxResponse(t *testing.T) {
	s := sizedReceiver(t)
	for _, limit := range []int64{1000, 100000} {
		p := Policy{MaxResponse: limit}
		for _, e := range engines {
			for _, tc := range []struct {
				n       int64
				tooMuch bool
			}{{limit, false}, {limit + 1, true}, {-limit, false}, {-limit - 1, true}, {0, false}} {
				url := s.URL + "/" + strconv.FormatInt(tc.n, 10)
				pp := newPumped(t, p, 1, url)
				r := pp.run(e.engine, 1, Job{Target: pp.targets[url]}).results[0]
				var tl *TooLargeError
				if tc.tooMuch != (r.Cause == CauseTooLarge && errors.As(r.Err, &tl)) || tc.tooMuch == r.Matched || r.Status != 200 {
					t.Errorf("%s, limit %d, %d: status %d cause %q matched %v %v", e.name, limit, tc.n, r.Status, r.Cause, r.Matched, r.Err)
				}
			}
		}
	}
}

// serveAnswers runs a receiver that reads each request and answers it with
// answer(n), the n-th request it read (from 0), written by write.
func serveAnswers(t testing.TB, answer func(n int64) string, write func(c net.Conn, a string) error) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var n atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body) //nolint:errcheck // the request is not the point
					a := answer(n.Add(1) - 1)
					if write(c, a) != nil || strings.Contains(a, "Connection: close") || strings.HasPrefix(a, "HTTP/1.0") {
						return
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String() + "/cb"
}

func writeAll(c net.Conn, a string) error { _, err := io.WriteString(c, a); return err }

// TestPumpEveryJobOnce: many jobs over many connections against receivers
// that close connections, answer in pieces or at length: every job is
// given back once, with the answer it got, whatever the engine.
func TestPumpEveryJobOnce(t *testing.T) {
	const jobs = 600
	answers := map[string]struct {
		answer func(n int64) string
		write  func(net.Conn, string) error
	}{
		"keep-alive": {func(int64) string { return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" }, writeAll},
		"close every third": {func(n int64) string {
			if n%3 == 0 {
				return "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
			}
			return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
		}, writeAll},
		"statuses": {func(n int64) string {
			return fmt.Sprintf("HTTP/1.1 %d X\r\nContent-Length: 0\r\n\r\n", 200+n%3)
		}, writeAll},
		"in pieces": {func(int64) string {
			return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
		}, func(c net.Conn, a string) error {
			for i := 0; i < len(a); i += 7 {
				if _, err := io.WriteString(c, a[i:min(i+7, len(a))]); err != nil {
					return err
				}
				time.Sleep(50 * time.Microsecond)
			}
			return nil
		}},
		"long bodies": {func(n int64) string {
			return "HTTP/1.1 200 OK\r\nContent-Length: 40000\r\n\r\n" + strings.Repeat("y", 40000)
		}, writeAll},
		"until close": {func(int64) string { return "HTTP/1.0 200 OK\r\n\r\nbody" }, writeAll},
	}
	for name, a := range answers {
		url := serveAnswers(t, a.answer, a.write)
		for _, e := range engines {
			t.Run(name+"/"+e.name, func(t *testing.T) {
				pp := newPumped(t, Policy{Timeout: 10 * time.Second, Expect: expect(t, "2xx")}, 16, url)
				js := make([]Job, jobs)
				for i := range js {
					js[i] = Job{Target: pp.targets[url], Body: []byte(`{"n":` + strconv.Itoa(i) + `}`)}
				}
				f := pp.run(e.engine, 16, js...)
				if f.dones.Load() != jobs {
					t.Fatalf("%d results for %d jobs", f.dones.Load(), jobs)
				}
				statuses := map[int]int{}
				for i := range int64(jobs) {
					r := f.results[i]
					if r.Err != nil || !r.Matched || !f.sent[i] {
						t.Fatalf("job %d: %d %q %v (sent %v)", i, r.Status, r.Cause, r.Err, f.sent[i])
					}
					statuses[r.Status]++
				}
				if name == "statuses" && (statuses[200] != jobs/3 || statuses[201] != jobs/3 || statuses[202] != jobs/3) {
					t.Errorf("statuses %v", statuses)
				}
			})
		}
	}
}

// waitFeed says JobLater until jobs are added, as a replay's reader feeds
// a Pump faster or slower than it sends.
type waitFeed struct {
	mu    sync.Mutex
	queue []Job
	done  bool
	got   map[int64]Result
}

func (f *waitFeed) Next(int, []byte) (Job, NextState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.queue) == 0 {
		if f.done {
			return Job{}, JobEnd
		}
		return Job{}, JobLater
	}
	j := f.queue[0]
	f.queue = f.queue[1:]
	return j, JobReady
}

func (f *waitFeed) Done(_ int, j Job, res Result) {
	f.mu.Lock()
	f.got[j.ID] = res
	f.mu.Unlock()
}

// TestPumpWaitsForTheFeed: a Feed that has nothing yet is asked again
// when it calls Wake, and no Wake is lost, however the two interleave.
func TestPumpWaitsForTheFeed(t *testing.T) {
	url := serveAnswers(t, func(int64) string { return "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" }, writeAll)
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			pp := newPumped(t, Policy{}, 4, url)
			f := &waitFeed{got: map[int64]Result{}}
			pu := pp.ps.NewPump(PumpOptions{Conns: 4, Engine: e.engine}, f)
			const n = 3000
			go func() {
				for i := range int64(n) {
					f.mu.Lock()
					f.queue = append(f.queue, Job{ID: i, Target: pp.targets[url]})
					if i == n-1 {
						f.done = true
					}
					f.mu.Unlock()
					pu.Wake()
					if i%7 == 0 {
						time.Sleep(time.Duration(i%3) * 10 * time.Microsecond)
					}
				}
			}()
			finished := make(chan struct{})
			go func() { pu.Run(context.Background()); close(finished) }()
			select {
			case <-finished:
			case <-time.After(60 * time.Second):
				t.Fatal("the Pump still waits: a Wake was lost")
			}
			if len(f.got) != n {
				t.Fatalf("%d results, want %d", len(f.got), n)
			}
			for i := range int64(n) {
				if r := f.got[i]; r.Err != nil || !r.Matched {
					t.Fatalf("job %d: %v", i, r.Err)
				}
			}
		})
	}
}

// TestPumpStopsWhenContextEnds: a request under way to a receiver that
// never answers is cut short when ctx ends, at once, and given back
// interrupted; a job waiting for its time comes back unsent.
func TestPumpStopsWhenContextEnds(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(io.Discard, c) }() //nolint:errcheck // never answers
		}
	}()
	url := "http://" + ln.Addr().String() + "/cb"
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			pp := newPumped(t, Policy{Timeout: time.Minute}, 2, url)
			f := newListFeed(Job{Target: pp.targets[url], Body: []byte("{}")},
				Job{Target: pp.targets[url], Body: []byte("{}"), At: time.Now().Add(time.Hour)})
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(300*time.Millisecond, cancel)
			start := time.Now()
			pp.ps.NewPump(PumpOptions{Conns: 2, Engine: e.engine}, f).Run(ctx)
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("took %s after the interrupt", took)
			}
			if r := f.results[0]; r.Cause != CauseInterrupted || r.Unreachable() || !f.sent[0] {
				t.Errorf("the request under way: %q %v (sent %v)", r.Cause, r.Err, f.sent[0])
			}
			if r := f.results[1]; r.Cause != CauseInterrupted || f.sent[1] {
				t.Errorf("the job not yet due: %q %v (sent %v)", r.Cause, r.Err, f.sent[1])
			}
		})
	}
}

// TestPumpKeepsTime: jobs with a time leave at it, not before.
func TestPumpKeepsTime(t *testing.T) {
	var mu sync.Mutex
	var arrived []time.Time
	url := serveAnswers(t, func(int64) string {
		mu.Lock()
		arrived = append(arrived, time.Now())
		mu.Unlock()
		return "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
	}, writeAll)
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			mu.Lock()
			arrived = nil
			mu.Unlock()
			pp := newPumped(t, Policy{}, 2, url)
			start := time.Now()
			var jobs []Job
			for i := range 10 {
				jobs = append(jobs, Job{Target: pp.targets[url], At: start.Add(time.Duration(i) * 20 * time.Millisecond)})
			}
			f := pp.run(e.engine, 2, jobs...)
			for i := range int64(10) {
				if r := f.results[i]; r.Err != nil {
					t.Fatal(r.Err)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			for i, at := range arrived {
				if due := start.Add(time.Duration(i) * 20 * time.Millisecond); at.Before(due) {
					t.Errorf("request %d arrived %s before its time", i, due.Sub(at))
				}
			}
		})
	}
}

// TestPumpRawHeadIsTheSendersHead: what the loop writes for a body is
// what a Sender's request writes for it, for policies with every kind of
// header and URLs with credentials, escapes and IPv6 hosts.
func TestPumpRawHeadIsTheSendersHead(t *testing.T) {
	for _, p := range []Policy{
		{}, {UserAgent: "livecb/1.0"},
		{Header: http.Header{"Host": {"cb.example.com"}, "X-B": {"1", "2"}, "Content-Type": {"text/plain"}}},
	} {
		for _, url := range []string{"http://127.0.0.1:9/cb", "http://user:pw@127.0.0.1:9/a%2Fb?x=1&y=%20", "http://[::1]:9/"} {
			tgt := target(t, p, url)
			h, err := tgt.rawHead()
			if err != nil {
				t.Fatal(err)
			}
			for _, body := range []string{"", "{}", strings.Repeat("z", 12345)} {
				req := fasthttp.AcquireRequest()
				build(req, tgt.uri, tgt.wire, true, []byte(body), nil)
				req.URI()
				var want bytes.Buffer
				w := bufio.NewWriter(&want)
				if err := req.Write(w); err != nil {
					t.Fatal(err)
				}
				w.Flush()
				fasthttp.ReleaseRequest(req)
				if got := h.appendRequest(nil, []byte(body)); !bytes.Equal(got, want.Bytes()) {
					t.Errorf("%s, a body of %d bytes:\nthe loop writes %q\na Sender        %q", url, len(body), got, want.Bytes())
				}
			}
		}
	}
}
