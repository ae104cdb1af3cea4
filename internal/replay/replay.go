// Package replay re-sends captured callbacks: it reads capture logs, HAR
// files and JSON/NDJSON files as streams, merges them in time order, picks
// the callbacks asked for, changes them only when asked (--set,
// --refresh-times), and delivers each body exactly as captured, at the
// original pace or faster. It reports one Outcome per callback, in order,
// and a Summary at the end; rendering is the caller's business.
package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/livecb/livecb/internal/deliver"
	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/route"
	"github.com/livecb/livecb/internal/source"
	"github.com/livecb/livecb/internal/term"
)

// Options configure a replay.
type Options struct {
	Inputs []Input
	Filter Filter
	// Speed scales the original gaps between callbacks: 1 keeps them, 10
	// plays ten times faster. 0 sends without waiting.
	Speed float64
	// Overrides are --set/--set-string/--unset, applied to every callback.
	Overrides []event.Override
	// RefreshTimes shifts every timestamp so that the first callback's
	// times become Now, keeping all gaps.
	RefreshTimes bool
	Now          func() time.Time
	// DryRun reports what would be sent, without sending or waiting.
	DryRun bool
	// StopOnError stops at the first broken record instead of skipping it.
	StopOnError bool
	// To is the target URL; empty means routing by family through Routes.
	To string
	// PreservePath appends each record's original path and query to the
	// target.
	PreservePath bool
	Routes       route.Table
	// Client delivers, under its policy (which also says which answers
	// are expected). A replay without pacing and without retries sends
	// under the same policy through a deliver.Poster, load mode's client
	// (see fastPath); a host the Poster cannot reach directly (behind a
	// proxy) still goes through Client.
	Client *deliver.Client
	// MaxInFlight is how many deliveries may be under way at once (default
	// 1: the next callback leaves once the previous one is answered, so the
	// receiver sees them in order).
	MaxInFlight int
	// ReportNeverWaits says that the report function given to Run never
	// waits for a reader (it writes to memory or a regular file): the
	// outcomes are then reported by the goroutines that complete them
	// (the Pump's loops), not by a goroutine of their own (outbox).
	ReportNeverWaits bool
	// Read bounds the records read from the inputs (source.Options).
	Read source.Options
	// clientOnly keeps every delivery on Client (tests compare the paths);
	// engine is the Pump's on the fast path (tests run each).
	clientOnly bool
	engine     deliver.Engine
}

// State says what became of a record.
type State string

const (
	Answered    State = "answered"    // the receiver answered (Outcome.OK says whether as expected)
	Unreachable State = "unreachable" // the receiver could not be reached: refused, DNS, TLS, no connection in time; the replay stops
	Failed      State = "failed"      // no complete answer to this record: a bad URL, a redirect refused, an answer cut short, too large or late
	DryRun      State = "dry-run"     // would be sent
	Skipped     State = "skipped"     // not sent: no route, change failed
	Off         State = "off"         // not sent: the family is switched off for the domain (the service would not send it)
	Truncated   State = "truncated"   // a last line cut short; skipped
	Broken      State = "broken"      // a record that could not be read; skipped
	Interrupted State = "interrupted" // under way when the replay was interrupted: sent, no answer yet
)

// Outcome is what happened to one record.
type Outcome struct {
	Source      string // file:line
	File        string
	Line        int
	Time        time.Time // when it was captured; zero when the input has no timing
	Kind        event.Kind
	State       State
	OK          bool   // answered with an expected status (or dry-run)
	Reason      string // why it was skipped, broken or failed
	URL         string
	ContentType string
	Size        int
	// Offset is when it was due, after the start of the replay; Lateness is
	// how late it left (paced replays only).
	Offset   time.Duration
	Lateness time.Duration
	Paced    bool
	Status   int
	Latency  time.Duration
	Attempts int
	Cause    deliver.Cause
	// Changes lists what was changed in the body; Findings are the changed
	// body's findings (nil when unchanged).
	Changes  []string
	Warnings []string
	Findings event.Findings
	Body     []byte // the bytes sent (or that would be)
	// Broken is why a broken record could not be read (a
	// *source.TooLargeError for one above the limit).
	Broken error
}

// Summary counts what happened.
type Summary struct {
	Read        int // callbacks read from the inputs
	Filtered    int // left out by the filters
	Selected    int
	Answered    int
	Missed      int // answered with a status other than expected
	Unreachable int
	Failures    int // records in State Failed
	Interrupted int // records in State Interrupted
	DryRun      int
	Skipped     int
	Truncated   int
	Broken      int
	Changed     int
	// ChangedInvalid counts changed bodies that no longer validate.
	ChangedInvalid int
	Latency        Percentiles
	Lateness       Percentiles // paced replays only
	Paced          bool
	Elapsed        time.Duration
	// Stopped says why the replay ended before the inputs did.
	Stopped        string
	StoppedOnError bool
	SwitchedOff    int // callbacks whose family is switched off in the routes
	// NoSeq counts the records --seq left out because they have no seq
	// (lines of NDJSON, HAR entries: only capture records have one).
	NoSeq int
}

// Failed reports whether any callback missed its expectation, went
// unanswered or could not be sent, a broken record was skipped, or
// StopOnError stopped the replay. A truncated last line (a file cut by a
// crash) is skipped with a warning and does not fail it.
func (s Summary) Failed() bool {
	return s.Missed > 0 || s.Unreachable > 0 || s.Failures > 0 || s.Skipped > 0 || s.Broken > 0 || s.StoppedOnError
}

// Run replays. report is called once per record, in replay order, from a
// single goroutine. The error is for inputs that cannot be read, or a To
// that is no receiver URL (a *deliver.URLError).
func Run(ctx context.Context, opts Options, report func(Outcome)) (Summary, error) {
	if opts.To != "" {
		if err := deliver.CheckURL(opts.To); err != nil {
			return Summary{}, err
		}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxInFlight < 1 {
		opts.MaxInFlight = 1
	}
	r := &runner{opts: opts, report: report, lat: newHist(), late: newHist(), poster: fastPath(opts)}
	if r.poster != nil {
		defer r.poster.CloseIdle()
	}
	return r.run(ctx)
}

type runner struct {
	opts   Options
	report func(Outcome)

	sum      Summary
	lat      *hist
	late     *hist
	timeBase time.Time // the first captured time, for relative --since/--until

	// pacing
	paceSet   bool
	paceStart time.Time // monotonic
	paceT0    time.Time // captured time of the first paced callback

	// --refresh-times
	shiftSet bool
	shift    time.Duration

	stop atomic.Bool
	// unreachable is set when a delivery could not reach its receiver:
	// what is queued for the Pump is not sent either (a --limit or a
	// broken record only stop the reading).
	unreachable atomic.Bool
	stopMu      sync.Mutex
	stopWhy     string // why it stopped early; "" for a --limit reached
	// out keeps the outcomes until their turn to be reported; unsent
	// counts the records selected but never sent, the replay having
	// stopped first.
	out       *outbox
	reporting sync.WaitGroup
	unsent    int
	// On the Client's path, sem bounds the deliveries under way, and jobs
	// feeds MaxInFlight delivering goroutines, started with the first
	// delivery and kept for the whole replay (a goroutine per delivery grew
	// a fresh stack through net/http each time: 7% of an unpaced replay).
	sem     chan struct{}
	jobs    chan job
	workers sync.WaitGroup
	// poster, when set, delivers instead of the Client (fastPath), through
	// a Pump that feed feeds, started with the first delivery.
	poster  *deliver.Poster
	feed    *feed
	started atomic.Pointer[feed] // feed, for the inputs' goroutines (flush)
	pumped  chan struct{}        // closed when the Pump has stopped
	// steady says that the one input never waits (term.NeverWaits): the
	// Pump's connections may read it, through next (read), one at a time
	// (feedReading).
	steady      bool
	next        func() (struct{}, bool)
	feedReading sync.Mutex
	// checkedURL is the last target that passed deliver.CheckURL.
	checkedURL string
}

// fastPath is the Poster an unpaced replay delivers through, or nil. It is
// the client of load mode (fasthttp: no reader and writer goroutines per
// connection, no context and timer per request, buffers reused), under the
// Client's policy, writing the same request for each record, within the
// same bounds, with the same results (internal/deliver's tests compare
// them). Two cases keep the Client:
//   - retries: the Poster makes one attempt, and the Client's retry loop
//     (its backoff, its attempts) stays the one place that retries;
//   - pacing: between paced callbacks a connection may sit idle long
//     enough for the receiver to close it, which net/http's client
//     notices while it waits (its background read) and fasthttp's does
//     not; paced replays spend their time waiting anyway.
func fastPath(opts Options) *deliver.Poster {
	if opts.clientOnly || opts.DryRun || opts.Speed > 0 || opts.Client == nil || opts.Client.Policy().Retries > 0 {
		return nil
	}
	p, err := deliver.NewPoster(opts.Client.Policy(), opts.MaxInFlight)
	if err != nil {
		return nil // the Client refuses the same policy on every delivery
	}
	return p
}

// job is one delivery on the Client's path: the outcome so far, and its
// place in the outbox.
type job struct {
	o  Outcome
	id int64
}

// minOutbox is the fewest outcomes an outbox holds: reading runs that far
// ahead of the answers, so that the Pump always has the next request.
const minOutbox = 256

func (r *runner) run(ctx context.Context) (Summary, error) {
	start := time.Now()
	r.sem = make(chan struct{}, r.opts.MaxInFlight)
	r.out = newOutbox(max(4*r.opts.MaxInFlight, minOutbox), func(o Outcome) {
		r.count(o)
		if r.report != nil {
			r.report(o)
		}
	}, func() { r.unsent++ }, r.opts.ReportNeverWaits)
	r.out.beforeWait = r.flush
	if !r.opts.ReportNeverWaits {
		r.reporting.Go(r.out.run)
	}

	err := r.read(ctx)
	if r.feed != nil {
		r.feed.finish()
		<-r.pumped
		r.feed.withdrawAll() // (what an interrupt left unsent)
	}
	if r.jobs != nil {
		close(r.jobs)
		r.workers.Wait()
	}
	r.out.close()
	r.reporting.Wait()
	r.sum.Selected -= r.unsent
	if err == nil && ctx.Err() != nil {
		r.sum.Stopped = "interrupted"
	}
	r.stopMu.Lock()
	if r.stopWhy != "" && r.sum.Stopped == "" {
		r.sum.Stopped = r.stopWhy
	}
	r.stopMu.Unlock()
	r.sum.Elapsed = time.Since(start)
	r.sum.Latency = r.lat.percentiles()
	r.sum.Lateness = r.late.percentiles()
	r.sum.Paced = r.opts.Speed > 0 && !r.opts.DryRun
	return r.sum, err
}

// read reads the inputs and handles each record, in order. It reads on
// this goroutine until the Pump starts; then, when reading never waits
// (one input, a regular file: source.Options bound its lines), the
// Pump's connections read on, each reading records when it has none to
// send (feed.Next), through an iter.Pull of the same reading: a record's
// reading and sending are then done on the same event loop, as load mode
// makes its requests, instead of on a goroutine that had to be woken for
// each handful of records, and which the loops had to make room for.
func (r *runner) read(ctx context.Context) error {
	handle := func(e entry) bool {
		if ctx.Err() != nil || r.stop.Load() {
			return false
		}
		return r.handle(ctx, e)
	}
	if r.poster == nil || len(r.opts.Inputs) != 1 {
		return merge(ctx, r.opts.Inputs, r.opts.Read, r.flush, handle)
	}
	in := r.opts.Inputs[0]
	open := in.Open
	in.Open = func() (io.ReadCloser, error) {
		rc, err := open()
		r.steady = err == nil && term.NeverWaits(rc)
		return rc, err
	}
	var err error
	next, stop := iter.Pull(func(yield func(struct{}) bool) {
		err = merge(ctx, []Input{in}, r.opts.Read, r.flush, func(e entry) bool {
			if !handle(e) {
				return false
			}
			// Once the Pump has started, and reads, its connections take
			// over (a yield per record: they read one at a time).
			return r.feed == nil || r.feed.read == nil || yield(struct{}{})
		})
	})
	defer stop()
	r.next = next
	// (Held: from the Pump's start, its connections may read, but only
	// once this reading has yielded to them.)
	r.feedReading.Lock()
	_, more := next()
	r.feedReading.Unlock()
	if more {
		r.feed.pump.Wake() // (connections that found the reading taken)
		<-r.pumped
	}
	stop() // (a reading the Pump left: interrupted, or a receiver unreachable)
	return err
}

// emit queues an outcome that is already known.
func (r *runner) emit(o Outcome) { r.out.put(r.out.reserve(), o) }

// halt stops the replay; the first reason given is kept, also when a
// --limit stopped it first (deliveries under way may still fail).
func (r *runner) halt(why string) {
	r.stopMu.Lock()
	defer r.stopMu.Unlock()
	r.stop.Store(true)
	if r.stopWhy == "" {
		r.stopWhy = why
	}
}

// handle processes one record; false stops the replay.
func (r *runner) handle(ctx context.Context, e entry) bool {
	if lim := r.opts.Filter.Limit; lim > 0 && r.sum.Selected >= lim {
		r.halt("")
		return false
	}
	it := e.item
	o := Outcome{Source: it.Where(), File: it.File, Line: it.Line, Time: it.Time}
	switch {
	case it.Truncated:
		o.State, o.Reason = Truncated, "the last record is cut short (a file cut by a crash?); skipped"
		r.emit(o)
		return true
	case it.Broken == nil && (it.Format == source.FormatNDJSON || it.Format == source.FormatJSON) && !jsonValid(it.Body):
		// A line, or a file of one body, that is not JSON. (A captured
		// body is sent as it came, JSON or not: it is what the sender sent.)
		it.Broken = notJSON(it.Body)
	case it.Broken == nil && it.Capture != nil && it.Capture.Truncated:
		it.Broken = fmt.Errorf("the listener kept only the first %d of %d bytes of this body (its limit of a body's size)", len(it.Body), it.Capture.Size)
	}
	if it.Broken != nil {
		o.State, o.Reason, o.Broken = Broken, it.Broken.Error(), it.Broken
		r.emit(o)
		if r.opts.StopOnError {
			r.sum.StoppedOnError = true
			r.halt("broken record at " + it.Where())
			return false
		}
		return true
	}
	if it.Capture != nil && it.Capture.Method != "" && !strings.EqualFold(it.Capture.Method, "POST") {
		// A probe the listener answered 405, not a callback.
		r.sum.Filtered++
		return true
	}
	if r.timeBase.IsZero() && !it.Time.IsZero() {
		r.timeBase = it.Time
	}

	g, decoded, findings := r.check(it)
	kind := g.Kind
	o.Kind = kind
	r.sum.Read++
	if !r.opts.Filter.match(it, g, decoded, findings, r.timeBase) {
		if len(r.opts.Filter.Seqs) > 0 && it.Capture == nil {
			r.sum.NoSeq++
		}
		r.sum.Filtered++
		return true
	}
	r.sum.Selected++

	body := it.Body
	if it.Capture != nil && it.Capture.Redacted {
		o.Warnings = append(o.Warnings, "the capture was redacted: secrets in this body and its target were masked, so it is not what the sender sent")
	}
	// --refresh-times: the first callback's times become now.
	if r.opts.RefreshTimes {
		if !r.shiftSet {
			ref := it.Time
			if ref.IsZero() {
				ref, _ = event.LatestTime(kind, body)
			}
			if !ref.IsZero() {
				r.shift, r.shiftSet = r.opts.Now().Sub(ref), true
			}
		}
		if r.shiftSet {
			nb, paths, err := event.ShiftTimes(kind, body, r.shift)
			if err != nil {
				o.State, o.Reason = Skipped, "shifting its times: "+err.Error()
				r.emit(o)
				return true
			}
			if len(paths) > 0 {
				body = nb
				o.Changes = append(o.Changes, fmt.Sprintf("times shifted by %s: %s", r.shift.Round(time.Millisecond), strings.Join(paths, ", ")))
			}
		}
	}
	if len(r.opts.Overrides) > 0 {
		nb, warns, err := event.Apply(kind, body, r.opts.Overrides)
		o.Warnings = append(o.Warnings, warns...)
		if err != nil {
			o.State, o.Reason = Skipped, err.Error()
			r.emit(o)
			return true
		}
		body = nb
		for _, ov := range r.opts.Overrides {
			o.Changes = append(o.Changes, ov.String())
		}
	}
	if len(o.Changes) > 0 {
		nev, fs := event.Check(body, event.Options{})
		o.Findings = fs
		if fs == nil {
			o.Findings = event.Findings{}
		}
		if nev != nil {
			o.Kind = nev.Kind
		}
	}
	o.Body, o.Size, o.ContentType = body, len(body), it.ContentType
	if o.ContentType == "" {
		o.ContentType = "application/json"
	}

	if r.opts.DryRun && r.opts.Speed > 0 {
		o.Offset = r.offset(e.key, time.Time{})
	}
	target, err := r.target(it, g)
	if err != nil {
		o.State, o.Reason = Skipped, err.Error()
		var off *route.SkippedError
		switch {
		case errors.As(err, &off):
			o.State = Off
		case r.opts.DryRun:
			// What would be sent is still worth listing.
			o.State, o.OK = DryRun, true
		}
		r.emit(o)
		return true
	}
	o.URL = target
	if target != r.checkedURL {
		if err := deliver.CheckURL(target); err != nil {
			// This record's URL (its captured path, its route), not the
			// receiver: the others still go.
			o.State, o.Cause, o.Reason = Failed, deliver.CauseURL, err.Error()
			r.emit(o)
			return true
		}
		r.checkedURL = target // (most records go to the URL before's)
	}

	if r.opts.DryRun {
		o.State, o.OK = DryRun, true
		r.emit(o)
		return true
	}
	return r.deliver(ctx, e, o)
}

// notJSON says where a body that is not JSON goes wrong, in validate's
// words (line and column within the body).
func notJSON(body []byte) error {
	if _, err := event.Decode(body); err != nil {
		return err
	}
	return errors.New("not JSON")
}

// check decodes and classifies a body, and validates it when a filter
// asks about its findings (--valid-only, --invalid-only): nothing else in
// a replay reads them, and validating was a third of checking.
// decoded is false for a body that is not one JSON object.
//
// A capture record whose kind is sealed to its body (event.Seal) is not
// read again when only its kind is wanted: its stream is, to route it by
// family (no --to) or to filter by domain, app or stream.
func (r *runner) check(it source.Item) (g event.Glimpse, decoded bool, fs event.Findings) {
	body, f := it.Body, &r.opts.Filter
	if f.ValidOnly || f.InvalidOnly {
		ev, fs := event.Check(body, event.Options{})
		if ev == nil {
			return event.Glimpse{}, false, fs
		}
		return event.Glimpse{Kind: ev.Kind, Identity: ev.Identity()}, true, fs
	}
	if it.Capture != nil && r.opts.To != "" && f.Domain == "" && f.App == "" && f.Stream == "" {
		if k, ok := it.Capture.SealedKind(); ok {
			return event.Glimpse{Kind: k}, true, nil
		}
	}
	// (Its kind and stream: all the rest reads. An item's body is never
	// written: its string's memory, not a copy.)
	g, err := event.GlanceString(unsafe.String(unsafe.SliceData(body), len(body)))
	return g, err == nil, nil
}

// offset is when a callback captured at key is due after the start.
func (r *runner) offset(key, now time.Time) time.Duration {
	if key.IsZero() {
		return 0
	}
	if !r.paceSet {
		r.paceSet, r.paceT0 = true, key
		if now.IsZero() {
			now = time.Now()
		}
		r.paceStart = now
	}
	d := time.Duration(float64(key.Sub(r.paceT0)) / r.opts.Speed)
	return max(d, 0)
}

func (r *runner) deliver(ctx context.Context, e entry, o Outcome) bool {
	if r.poster != nil {
		return r.pump(ctx, o)
	}
	// Wait for a free slot first, so that lateness includes waiting for a
	// slow receiver.
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		r.sum.Selected--
		return false
	}
	if r.stop.Load() {
		<-r.sem
		r.sum.Selected--
		return false
	}
	if r.opts.Speed > 0 {
		o.Paced = true
		o.Offset = r.offset(e.key, time.Now())
		if r.paceSet {
			due := r.paceStart.Add(o.Offset)
			if !waitUntil(ctx, due) {
				<-r.sem
				r.sum.Selected--
				return false
			}
			o.Lateness = time.Since(due)
		}
	}
	id := r.out.reserve()
	if r.jobs == nil {
		r.jobs = make(chan job, r.opts.MaxInFlight)
		for range r.opts.MaxInFlight {
			r.workers.Go(func() {
				for j := range r.jobs {
					res := r.opts.Client.Do(ctx, deliver.Request{URL: j.o.URL, Body: j.o.Body, ContentType: j.o.ContentType}, nil)
					r.settle(ctx, &j.o, res)
					r.out.put(j.id, j.o)
					<-r.sem
				}
			})
		}
	}
	r.jobs <- job{o, id} // never blocks: we hold one of sem's MaxInFlight places
	return true
}

// settle completes o, sent, with how the receiver answered.
func (r *runner) settle(ctx context.Context, o *Outcome, res deliver.Result) {
	o.Status, o.Latency, o.Attempts = res.Status, res.Latency, max(len(res.Attempts), 1)
	switch {
	case res.Cause == deliver.CauseInterrupted:
		o.State, o.Cause, o.Reason = Interrupted, res.Cause, "the replay was interrupted before its answer came"
	case res.Unreachable():
		// Nothing that follows can get through either.
		o.State, o.Cause, o.Reason = Unreachable, res.Cause, res.Err.Error()
		if ctx.Err() == nil {
			r.unreachable.Store(true)
			r.halt(fmt.Sprintf("%s unreachable (%s) at %s", o.URL, res.Cause, o.Source))
		}
	case res.Err != nil:
		o.State, o.Cause, o.Reason = Failed, res.Cause, res.Err.Error()
	default:
		o.State, o.OK = Answered, res.Matched
		if !o.OK {
			o.Reason = fmt.Sprintf("expected %s", r.opts.Client.Policy().Expect)
		}
	}
}

// pump queues o for the Pump, which it starts with the first.
func (r *runner) pump(ctx context.Context, o Outcome) bool {
	id := r.out.reserve()
	job := deliver.Job{ID: id, Body: o.Body}
	t, err := r.poster.TargetFor(o.URL, o.ContentType)
	if err == nil {
		job.Target = t
	} else if !r.refused(ctx, id, &job, o, err) {
		return true
	}
	r.out.hold(id, o)
	if r.feed == nil {
		r.feed = &feed{r: r, ctx: ctx}
		if r.steady {
			r.feed.read = r.next
		}
		// The loops may hold their processors when they read and report
		// themselves: nothing else then waits for one (PumpOptions.Hold).
		hold := r.feed.read != nil && r.opts.ReportNeverWaits
		r.feed.pump = r.poster.NewPump(deliver.PumpOptions{Conns: r.opts.MaxInFlight, TLS: t != nil && t.TLS(), Engine: r.opts.engine, Hold: hold}, r.feed)
		if r.feed.read != nil {
			r.out.onRoom = r.feed.pump.Wake
		}
		r.pumped = make(chan struct{})
		r.started.Store(r.feed)
		go func() {
			defer close(r.pumped)
			r.feed.pump.Run(ctx)
		}()
	}
	r.feed.push(job)
	return true
}

// flush wakes the Pump for what is queued (before the reading may wait).
func (r *runner) flush() {
	if f := r.started.Load(); f != nil {
		f.flush()
	}
}

// refused handles a record whose URL the Poster refuses: one behind a
// proxy is the Client's (which goes through it) and true; another is a
// failed record, false.
func (r *runner) refused(ctx context.Context, id int64, job *deliver.Job, o Outcome, err error) bool {
	var se *deliver.SettingError
	if errors.As(err, &se) && se.Setting == deliver.SettingProxy {
		req := deliver.Request{URL: o.URL, Body: o.Body, ContentType: o.ContentType}
		job.Send = func(ctx context.Context) deliver.Result { return r.opts.Client.Do(ctx, req, nil) }
		return true
	}
	cause := deliver.CauseURL
	if se != nil {
		cause = deliver.CauseSetting
	}
	r.settle(ctx, &o, deliver.Result{URL: o.URL, Err: err, Cause: cause})
	r.out.put(id, o)
	return false
}

// feed gives the Pump the records to send, in replay order, and completes
// their outcomes with the answers.
type feed struct {
	r    *runner
	ctx  context.Context
	pump *deliver.Pump
	mu   sync.Mutex
	// queue[head:] are the jobs not yet sent; done says no more come.
	queue   []deliver.Job
	head    int
	done    bool
	unwoken int // jobs queued since the Pump was last woken
	// read, when set, reads on (runner.read): Next reads when the queue
	// is empty, one connection at a time (runner.feedReading).
	read func() (struct{}, bool)
}

// push queues a job. The Pump is woken for every wakeBatch jobs queued,
// not for each: a connection waiting for a job is woken by a write to an
// eventfd, and its thread by the kernel, which cost about as much as
// sending the job when the reading keeps just ahead of the answers. What is
// queued is flushed (the Pump woken) before the reading may wait: when
// reading more of an input (idleReader), before the outbox has room, and at
// the end.
func (f *feed) push(j deliver.Job) {
	f.mu.Lock()
	if f.head > 256 && 2*f.head > len(f.queue) {
		n := copy(f.queue, f.queue[f.head:])
		clear(f.queue[n:])
		f.queue, f.head = f.queue[:n], 0
	}
	f.queue = append(f.queue, j)
	f.unwoken++
	wake := f.unwoken >= wakeBatch
	if wake {
		f.unwoken = 0
	}
	f.mu.Unlock()
	if wake {
		f.pump.Wake()
	}
}

// wakeBatch is how many jobs are queued before the Pump is woken.
const wakeBatch = 8

// flush wakes the Pump for the jobs queued since it last was.
func (f *feed) flush() {
	f.mu.Lock()
	wake := f.unwoken > 0
	f.unwoken = 0
	f.mu.Unlock()
	if wake {
		f.pump.Wake()
	}
}

// finish says that no more jobs come.
func (f *feed) finish() {
	f.mu.Lock()
	f.done = true
	f.unwoken = 0
	f.mu.Unlock()
	f.pump.Wake()
}

func (f *feed) Next(int, []byte) (deliver.Job, deliver.NextState) {
	for {
		if f.r.unreachable.Load() {
			// What is queued would not get through either.
			f.withdrawAll()
			return deliver.Job{}, deliver.JobEnd
		}
		f.mu.Lock()
		if f.head < len(f.queue) {
			j := f.queue[f.head]
			f.queue[f.head] = deliver.Job{}
			f.head++
			f.mu.Unlock()
			return j, deliver.JobReady
		}
		if f.done {
			f.mu.Unlock()
			return deliver.Job{}, deliver.JobEnd
		}
		read := f.read
		f.mu.Unlock()
		// None queued: read on, unless the reading is not the
		// connections' (yet), or another connection is reading (it wakes
		// the Pump for what it queues beyond its own: push, flush).
		if read == nil || !f.r.feedReading.TryLock() {
			return deliver.Job{}, deliver.JobLater
		}
		roomless := f.readOn(read)
		f.r.feedReading.Unlock()
		f.flush()
		if roomless {
			// None queued until the outbox has room: it wakes the Pump
			// then (onRoom).
			f.mu.Lock()
			empty := f.head == len(f.queue)
			f.mu.Unlock()
			if empty {
				return deliver.Job{}, deliver.JobLater
			}
		}
	}
}

// readOn reads records until readAhead are queued, the reading ends
// (then the feed is done), or the outbox has no room for another: each
// record takes a place, and the reading must not wait for one; roomless
// says it stopped for that (feedReading held).
func (f *feed) readOn(read func() (struct{}, bool)) (roomless bool) {
	for {
		if !f.r.out.hasRoom() {
			return true
		}
		if _, more := read(); !more {
			f.mu.Lock()
			f.read = nil
			f.mu.Unlock()
			f.finish()
			return false
		}
		f.mu.Lock()
		queued := len(f.queue) - f.head
		f.mu.Unlock()
		if queued >= readAhead {
			return false
		}
	}
}

// readAhead is how many jobs a connection that reads queues: its own and
// a few for the connections that find the reading taken, which then find
// a job instead of waiting to be woken for their turn (a write to an
// eventfd each, and its read).
const readAhead = 4

func (f *feed) Done(_ int, j deliver.Job, res deliver.Result) {
	f.r.out.update(j.ID, func(o *Outcome) { f.r.settle(f.ctx, o, res) })
}

// withdrawAll takes back the jobs not sent.
func (f *feed) withdrawAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, j := range f.queue[f.head:] {
		f.r.out.withdraw(j.ID)
	}
	clear(f.queue)
	f.queue, f.head = f.queue[:0], 0
}

// waitUntil sleeps until t, spinning for the last millisecond so callbacks
// leave on time rather than when the timer fires. False when ctx ended.
func waitUntil(ctx context.Context, t time.Time) bool {
	const spin = time.Millisecond
	if d := time.Until(t) - spin; d > 0 {
		timer := time.NewTimer(d)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return false
		}
	}
	for time.Now().Before(t) {
		if ctx.Err() != nil {
			return false
		}
	}
	return true
}

// target is where a callback goes: --to, or the route of its family.
func (r *runner) target(it source.Item, g event.Glimpse) (string, error) {
	base := r.opts.To
	if base == "" {
		if g.Kind == "" {
			return "", errors.New("cannot route a body of unknown kind by family: give the receiver's URL")
		}
		u, err := r.opts.Routes.Resolve(g.Identity.Domain, g.Kind.Family())
		if err != nil {
			return "", err
		}
		base = u
	}
	if r.opts.PreservePath && it.Target != "" {
		return JoinTarget(base, it.Target)
	}
	return base, nil
}

// JoinTarget appends an original request target (path and query) to base:
// http://h/base + /cb?x=1 = http://h/base/cb?x=1.
func JoinTarget(base, target string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("target %q: %v", base, err)
	}
	p, q, _ := strings.Cut(target, "?")
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	raw := strings.TrimSuffix(u.EscapedPath(), "/") + p
	unescaped, err := url.PathUnescape(raw)
	if err != nil {
		return "", fmt.Errorf("original path %q: %v", target, err)
	}
	u.Path, u.RawPath = unescaped, raw
	switch {
	case u.RawQuery == "":
		u.RawQuery = q
	case q != "":
		u.RawQuery += "&" + q
	}
	return u.String(), nil
}

func (r *runner) count(o Outcome) {
	s := &r.sum
	switch o.State {
	case Answered:
		s.Answered++
		if !o.OK {
			s.Missed++
		}
		r.lat.record(o.Latency)
	case Unreachable:
		s.Unreachable++
	case Failed:
		s.Failures++
	case Interrupted:
		s.Interrupted++
	case DryRun:
		s.DryRun++
	case Skipped:
		s.Skipped++
	case Off:
		s.SwitchedOff++
	case Truncated:
		s.Truncated++
	case Broken:
		s.Broken++
	}
	if o.Paced && (o.State == Answered || o.State == Unreachable || o.State == Failed || o.State == Interrupted) {
		r.late.record(o.Lateness)
	}
	if len(o.Changes) > 0 {
		s.Changed++
		if o.Findings.HasErrors() {
			s.ChangedInvalid++
		}
	}
}

// Filter picks callbacks.
type Filter struct {
	// Kinds are kind names or shell patterns of them (snap*, *record_done).
	Kinds []string
	// Domain, App and Stream are shell patterns (path.Match): cam-*.
	Domain, App, Stream string
	// Seqs picks capture records by their seq, Lines records of any file
	// by the line they start on (each a list of ranges; none: all).
	Seqs, Lines  Ranges
	Since, Until Bound
	ValidOnly    bool
	InvalidOnly  bool
	// Limit stops after this many callbacks (0: no limit).
	Limit int
}

func (f Filter) match(it source.Item, g event.Glimpse, decoded bool, fs event.Findings, base time.Time) bool {
	at := it.Time
	if len(f.Seqs) > 0 && (it.Capture == nil || !f.Seqs.Contains(it.Capture.Seq)) {
		return false
	}
	if len(f.Lines) > 0 && !f.Lines.Contains(uint64(it.Line)) {
		return false
	}
	if len(f.Kinds) > 0 {
		ok := false
		for _, k := range f.Kinds {
			if g.Kind != "" {
				m, _ := path.Match(k, string(g.Kind))
				ok = ok || m
			}
		}
		if !ok {
			return false
		}
	}
	id := g.Identity
	for _, p := range [][2]string{{f.Domain, id.Domain}, {f.App, id.App}, {f.Stream, id.Stream}} {
		if p[0] == "" {
			continue
		}
		if ok, _ := path.Match(p[0], p[1]); !ok || !decoded {
			return false
		}
	}
	if f.ValidOnly && fs.HasErrors() || f.InvalidOnly && !fs.HasErrors() {
		return false
	}
	if f.Since.Set || f.Until.Set {
		if at.IsZero() {
			return false // no time to compare
		}
		if f.Since.Set && at.Before(f.Since.resolve(base)) {
			return false
		}
		if f.Until.Set && !at.Before(f.Until.resolve(base)) {
			return false
		}
	}
	return true
}

// Bound is --since or --until: a time (RFC 3339), or a duration after the
// first captured callback (90s, 5m).
type Bound struct {
	Set    bool
	At     time.Time
	Offset time.Duration
}

func (b Bound) resolve(base time.Time) time.Time {
	if !b.At.IsZero() {
		return b.At
	}
	return base.Add(b.Offset)
}

// ParseBound parses an RFC 3339 time or a Go duration.
func ParseBound(s string) (Bound, error) {
	if s == "" {
		return Bound{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return Bound{Set: true, At: t}, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return Bound{Set: true, Offset: d}, nil
	}
	return Bound{}, fmt.Errorf("%q: use an RFC 3339 time (2024-05-14T08:21:00Z) or a duration after the first callback (90s, 5m)", s)
}

// Range is the numbers From to To, both included.
type Range struct{ From, To uint64 }

// Ranges is a selection of numbers: 3,7-9.
type Ranges []Range

// Contains reports whether n is in one of the ranges.
func (rs Ranges) Contains(n uint64) bool {
	for _, r := range rs {
		if n >= r.From && n <= r.To {
			return true
		}
	}
	return false
}

// ParseRanges parses "3,7-9,12-": numbers and ranges, comma-separated; a
// range open at its end runs to the last record.
func ParseRanges(s string) (Ranges, error) {
	var out Ranges
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		from, to, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(from, 10, 64)
		if err != nil || a == 0 {
			return nil, fmt.Errorf("%q: give numbers from 1 and ranges, such as 3,7-9 or 12-", part)
		}
		b := a
		if isRange {
			if to == "" {
				b = math.MaxUint64
			} else if b, err = strconv.ParseUint(to, 10, 64); err != nil || b < a {
				return nil, fmt.Errorf("%q: a range runs from a smaller number to a larger one, such as 7-9", part)
			}
		}
		out = append(out, Range{a, b})
	}
	return out, nil
}
