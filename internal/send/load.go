package send

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/livecb/livecb/internal/deliver"
)

// Load is a load run: many callbacks, Concurrency at a time, as fast as the
// receiver answers or at a steady Rate, through Poster and under its
// policy (which also says which answers are expected).
type Load struct {
	Poster *deliver.Poster
	Bodies *LoadBodies
	// Count is the number of requests; 0 runs until Duration ends.
	Count int64
	// Duration bounds the run; 0 runs until Count requests are done.
	Duration time.Duration
	// Concurrency is the number of requests under way at once (and of
	// kept-alive connections).
	Concurrency int
	// Rate, when above 0, schedules request i at start + i/Rate whatever
	// the receiver does (open loop): a slow receiver then shows as latency,
	// counted from when each request was due, not as a lower offered rate.
	// 0 sends each request as soon as a sender is free (closed loop).
	Rate float64
	// Engine is the Pump's (tests run each); the zero value picks.
	Engine deliver.Engine

	// next numbers the requests; it is the one count every sender
	// changes per request (started only with a Rate; the rest in shards),
	// on a cache line of its own.
	_       [64]byte
	next    atomic.Int64
	_       [56]byte
	started atomic.Int64
	shards  atomic.Pointer[[]*shard] // for Progress
}

// Bounds of a Rate: at least one request a day, at most one a nanosecond.
const (
	MinRate = 1.0 / (24 * 60 * 60)
	MaxRate = 1e9
)

// SettingRate names Load.Rate in a *deliver.SettingError.
const SettingRate = "rate"

// check refuses a run that cannot be scheduled.
func (l *Load) check() error {
	bad := func(setting, value, reason string) error {
		return &deliver.SettingError{Setting: setting, Value: value, Reason: reason}
	}
	rate := strconv.FormatFloat(l.Rate, 'g', -1, 64)
	switch {
	case l.Count < 0:
		return bad("count", strconv.FormatInt(l.Count, 10), "give a positive number of requests")
	case l.Duration < 0:
		return bad("duration", l.Duration.String(), "give a positive duration")
	case math.IsNaN(l.Rate) || l.Rate < 0:
		return bad(SettingRate, rate, "give requests per second, e.g. 500")
	case l.Rate == 0:
		return nil
	case l.Rate < MinRate || math.IsInf(l.Rate, 0) || l.Rate > MaxRate:
		return bad(SettingRate, rate, fmt.Sprintf("give between one request a day (%.2g per second) and %g per second", MinRate, MaxRate))
	case l.Count > 0 && float64(l.Count-1)*float64(time.Second)/l.Rate > float64(math.MaxInt64):
		return bad(SettingRate, rate, fmt.Sprintf("the last of %d requests would be due in more than 290 years: give a higher rate or fewer requests", l.Count))
	}
	return nil
}

// Latency is a latency distribution.
type Latency struct {
	Min, P50, P90, P99, P999, Max, Mean time.Duration
}

// LoadReport is the outcome of a load run.
type LoadReport struct {
	// Requests were sent and got an answer or failed.
	Requests int64
	// Answered got an HTTP answer; Matched with an expected status.
	Answered, Matched, Missed int64
	// Failed got no complete answer (Causes say why).
	Failed int64
	// Unsent were due by the end of an open-loop run (Rate) but never left:
	// every sender was still waiting for an earlier answer.
	Unsent   int64
	Statuses map[int]int64
	Causes   map[deliver.Cause]int64
	Elapsed  time.Duration
	// Throughput is Requests per second of Elapsed.
	Throughput float64
	Latency    Latency
	// Rate is the rate asked for (0: as fast as possible).
	Rate        float64
	Concurrency int
	// FirstFailure is the first failure, for the error message.
	FirstFailure *LoadFailure
	// Interrupted is true when ctx ended before the run did.
	Interrupted bool
}

// LoadFailure describes a request that got no complete answer.
type LoadFailure struct {
	URL   string
	Kind  string
	Cause deliver.Cause
	Err   error
}

// ErrorRate is the share of requests that failed, missed the expected
// status or, due, were never sent (a rate the receiver did not sustain).
func (r LoadReport) ErrorRate() float64 {
	if r.Requests+r.Unsent == 0 {
		return 0
	}
	return float64(r.Failed+r.Missed+r.Unsent) / float64(r.Requests+r.Unsent)
}

// Progress returns the requests done so far and how many of them failed or
// missed (for a progress bar; safe to call during Run).
func (l *Load) Progress() (done, errs int64) {
	shards := l.shards.Load()
	if shards == nil {
		return 0, 0
	}
	for _, sh := range *shards {
		sh.mu.Lock()
		done += sh.matched + sh.missed + sh.failed
		errs += sh.missed + sh.failed
		sh.mu.Unlock()
	}
	return done, errs
}

// shard is one part of the counts, shared by a few senders, so that
// senders rarely wait for each other and memory stays bounded however high
// the concurrency.
type shard struct {
	mu       sync.Mutex
	hist     *hdrhistogram.Histogram
	statuses map[int]int64
	causes   map[deliver.Cause]int64
	matched  int64
	missed   int64
	failed   int64
	first    *LoadFailure
	firstAt  int64
}

const (
	histMin = int64(time.Microsecond) // latencies are recorded in ns, 3 significant digits
	histMax = int64(time.Hour)
)

func newShard() *shard {
	return &shard{hist: hdrhistogram.New(histMin, histMax, 3), statuses: map[int]int64{}, causes: map[deliver.Cause]int64{}}
}

// Run runs the load and returns its report. Requests under way when
// Duration ends are finished; when ctx ends they are abandoned and not
// counted. A run that cannot be scheduled (a *deliver.SettingError) or a
// URL the Poster refuses (a *deliver.URLError or *deliver.SettingError)
// is an error, before anything is sent.
func (l *Load) Run(ctx context.Context) (LoadReport, error) {
	if err := l.check(); err != nil {
		return LoadReport{}, err
	}
	targets := make([]deliver.Target, len(l.Bodies.Kinds))
	for k := range targets {
		var err error
		if targets[k], err = l.Poster.Target(l.Bodies.URL(k)); err != nil {
			return LoadReport{}, err
		}
	}
	conc := max(l.Concurrency, 1)
	if l.Count > 0 {
		conc = int(min(int64(conc), l.Count))
	}
	shards := make([]*shard, min(conc, 16))
	for i := range shards {
		shards[i] = newShard()
	}
	l.shards.Store(&shards)
	stop := make(chan struct{})
	var stopOnce sync.Once
	var stoppedAt time.Time // when the run was stopped (Duration or ctx) before its Count
	halt := func() { stopOnce.Do(func() { close(stop) }) }
	var stopped atomic.Bool
	stopNow := func() {
		stopOnce.Do(func() {
			stoppedAt = time.Now()
			stopped.Store(true)
			close(stop)
		})
	}

	f := &loadFeed{l: l, ctx: ctx, targets: targets, shards: shards, stopped: &stopped}
	tls := false
	for _, t := range targets {
		tls = tls || t.TLS()
	}
	pump := l.Poster.NewPump(deliver.PumpOptions{Conns: conc, TLS: tls, Engine: l.Engine, Hold: l.Rate <= 0}, f)

	start := time.Now()
	f.start = start
	var deadline time.Time
	if l.Duration > 0 {
		deadline = start.Add(l.Duration)
		t := time.AfterFunc(l.Duration, stopNow)
		defer t.Stop()
	}
	f.deadline = deadline
	go func() {
		select {
		case <-ctx.Done():
			stopNow()
		case <-stop:
		}
	}()
	var interval float64
	if l.Rate > 0 {
		interval = float64(time.Second) / l.Rate
	}
	f.interval = interval

	pump.Run(ctx)
	elapsed := time.Since(start)
	halt()

	rep := LoadReport{Statuses: map[int]int64{}, Causes: map[deliver.Cause]int64{}, Elapsed: elapsed,
		Rate: l.Rate, Concurrency: conc, Interrupted: ctx.Err() != nil}
	hist := hdrhistogram.New(histMin, histMax, 3)
	var firstAt int64 = -1
	for _, sh := range shards {
		hist.Merge(sh.hist)
		for s, n := range sh.statuses {
			rep.Statuses[s] += n
			rep.Answered += n
		}
		for c, n := range sh.causes {
			rep.Causes[c] += n
		}
		rep.Matched += sh.matched
		rep.Missed += sh.missed
		rep.Failed += sh.failed
		if sh.first != nil && (firstAt < 0 || sh.firstAt < firstAt) {
			rep.FirstFailure, firstAt = sh.first, sh.firstAt
		}
	}
	rep.Requests = rep.Answered + rep.Failed
	if interval > 0 && !stoppedAt.IsZero() {
		// Requests 0..due-1 were due before the run was stopped.
		end := stoppedAt
		if !deadline.IsZero() && end.After(deadline) {
			end = deadline
		}
		due := int64(math.Ceil(float64(end.Sub(start)) / interval))
		if l.Count > 0 {
			due = min(due, l.Count)
		}
		rep.Unsent = max(due-l.started.Load(), 0)
	}
	if elapsed > 0 {
		rep.Throughput = float64(rep.Requests) / elapsed.Seconds()
	}
	if hist.TotalCount() > 0 {
		q := func(p float64) time.Duration { return time.Duration(hist.ValueAtQuantile(p)) }
		rep.Latency = Latency{Min: time.Duration(hist.Min()), P50: q(50), P90: q(90), P99: q(99), P999: q(99.9),
			Max: time.Duration(hist.Max()), Mean: time.Duration(hist.Mean())}
	}
	return rep, nil
}

// loadFeed gives the Pump the run's requests and counts their results.
type loadFeed struct {
	l               *Load
	ctx             context.Context
	targets         []deliver.Target
	shards          []*shard
	start, deadline time.Time
	interval        float64 // between requests (ns) with a Rate, else 0
	stopped         *atomic.Bool
}

// Next takes the next request number until the count is reached or the
// run is stopped, with its time when a rate is set.
func (f *loadFeed) Next(_ int, buf []byte) (deliver.Job, deliver.NextState) {
	l := f.l
	if f.stopped.Load() {
		return deliver.Job{}, deliver.JobEnd
	}
	i := l.next.Add(1) - 1
	if l.Count > 0 && i >= l.Count {
		return deliver.Job{}, deliver.JobEnd
	}
	var job deliver.Job
	if f.interval > 0 {
		at := float64(i) * f.interval
		if at >= math.MaxInt64 {
			return deliver.Job{}, deliver.JobEnd // beyond what a time can hold: past any deadline
		}
		due := f.start.Add(time.Duration(at))
		if !f.deadline.IsZero() && !due.Before(f.deadline) {
			return deliver.Job{}, deliver.JobEnd
		}
		job.At = due
		l.started.Add(1)
	}
	k, body := l.Bodies.Request(i, buf)
	job.ID, job.Tag, job.Target, job.Body = i, k, &f.targets[k], body
	return job, deliver.JobReady
}

// Done counts a result in the connection's shard (a few connections share
// one, so that they rarely wait for each other).
func (f *loadFeed) Done(conn int, job deliver.Job, res deliver.Result) {
	l := f.l
	if f.interval > 0 && !job.Sent {
		l.started.Add(-1) // its time never came
	}
	if f.ctx.Err() != nil {
		return // abandoned: not counted
	}
	// Closed loop: the request's own latency (the Pump measured it from
	// the moment it started it). Open loop: from when it was due, so that
	// time spent waiting for a free connection is the receiver's.
	lat := res.Latency
	if f.interval > 0 {
		lat = time.Since(job.At)
	}
	i, k := job.ID, job.Tag
	sh := f.shards[conn%len(f.shards)]
	sh.mu.Lock()
	if res.Err != nil {
		sh.failed++
		sh.causes[res.Cause]++
		if sh.first == nil || i < sh.firstAt {
			sh.first, sh.firstAt = &LoadFailure{URL: l.Bodies.URL(k), Kind: string(l.Bodies.Kinds[k]), Cause: res.Cause, Err: res.Err}, i
		}
	} else {
		sh.statuses[res.Status]++
		if res.Matched {
			sh.matched++
		} else {
			sh.missed++
		}
	}
	sh.hist.RecordValue(max(int64(lat), histMin))
	sh.mu.Unlock()
}

// StatusCounts returns the statuses in ascending order.
func (r LoadReport) StatusCounts() []StatusCount {
	out := make([]StatusCount, 0, len(r.Statuses))
	for s, n := range r.Statuses {
		out = append(out, StatusCount{s, n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Status < out[j].Status })
	return out
}

// StatusCount is how many answers had one status.
type StatusCount struct {
	Status int
	Count  int64
}

// CauseCounts returns the causes of failures, most frequent first.
func (r LoadReport) CauseCounts() []CauseCount {
	out := make([]CauseCount, 0, len(r.Causes))
	for c, n := range r.Causes {
		out = append(out, CauseCount{c, n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Cause < out[j].Cause
	})
	return out
}

// CauseCount is how many requests failed for one cause.
type CauseCount struct {
	Cause deliver.Cause
	Count int64
}
