package deliver

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// A Pump sends a stream of requests over a fixed number of kept-alive
// connections, each with at most one request under way, as fast as the
// receivers answer (or each at its time): load mode and unpaced replays.
// The requests come from a Feed, which the Pump asks for the next one
// whenever a connection is free, and which gets each one's Result.
//
// Two engines drive the connections, with the same results under the
// Poster's policy (the same bytes on the wire, the same bounds on every
// answer, the same causes): a goroutine per connection, each posting
// through its own Sender (every platform); and, on Linux, event loops
// over non-blocking sockets, one per processor, as wrk drives its
// connections: a request is written with one write(2), its answer read as
// it arrives and parsed by the Poster's own answer reader, without a
// goroutine to wake per request. The loop hands what it does not do itself
// to a goroutine on the Poster's path: https, a redirect to follow, an
// answer that does not arrive whole within a few reads (streamed, chunked,
// trickling, large), a Job's own Send.
type Pump struct {
	p     *Poster
	conns int
	feed  Feed
	// Engine chooses the engine; EngineAuto the loop where it runs.
	engine Engine
	tls    bool
	hold   bool

	// parked counts connections waiting for a job (the Feed said Later);
	// Wake only wakes anyone when it is above 0.
	parked atomic.Int32
	wakeMu sync.Mutex
	wakeCh chan struct{} // closed by Wake (goroutine engine)
	loops  []loopWaker   // (event loop engine)
	// away counts the goroutines the loops sent work to (dials, answers
	// handed off, redirects, TLS) that have not come back: while any is
	// out, no loop holds its processor in a wait (pump_linux.go's wait).
	away atomic.Int32
	// starving says whether the loops may hold their processors (Linux).
	starving starvation
}

// Engine is how a Pump drives its connections.
type Engine int

const (
	// EngineAuto is the event loop where there is one (Linux) and the
	// requests are plain http; else goroutines.
	EngineAuto Engine = iota
	// EngineGoroutines posts through a Sender per connection, on a
	// goroutine of its own.
	EngineGoroutines
	// EngineLoop drives the connections from event loops (Linux; on other
	// systems it is EngineGoroutines).
	EngineLoop
)

// PumpOptions configure a Pump.
type PumpOptions struct {
	// Conns is how many requests are under way at once, each on a
	// connection of its own (at least 1).
	Conns int
	// TLS says that the requests go to https URLs: the event loop, which
	// does not speak TLS, would hand each to a goroutine, so EngineAuto
	// takes goroutines.
	TLS    bool
	Engine Engine
	// Hold lets the event loops wait holding their processors while the
	// process has nothing else to run (pump_linux.go's wait): for a Feed
	// that makes its jobs when asked and wants them sent as fast as they
	// go (load mode's closed loop; an unpaced replay whose connections
	// read the records and report the outcomes). Such a Feed's JobLater
	// must not wait for another goroutine of the process: its Wake comes
	// from a loop (from Next or Done), and the loops keep holding. Not for
	// jobs due at times (a paced replay, a rate): a loop waits for a due
	// time most of the time, and held, would keep whatever else the process
	// runs waiting for the runtime's preemption, where nothing is gained
	// (those runs are not bound by the loops' CPU).
	Hold bool
}

// A Job is one request of a Feed.
type Job struct {
	// ID and Tag are the Feed's own, given back with the Result.
	ID  int64
	Tag int
	// Target and Body are the request: Body posted to Target (a Target of
	// the Pump's Poster, which must not change while the Pump runs; nil
	// only with Send).
	Target *Target
	Body   []byte
	// At, when set, is when the request is due: it does not leave before.
	At time.Time
	// Send, when set, delivers the job instead of the Poster (a request
	// the Poster cannot make, such as one through a proxy), on a goroutine
	// of its own, within the Pump's concurrency. It must end when ctx ends.
	Send func(ctx context.Context) Result
	// Sent is set by the Pump when it gives the job back: whether the
	// request left (false for one still waiting for At, or whose
	// connection could not be made, when the Pump was stopped).
	Sent bool
}

// NextState is what a Feed's Next has for a connection.
type NextState int

const (
	// JobReady: the returned Job is the connection's next request.
	JobReady NextState = iota
	// JobLater: none yet; the Feed calls Pump.Wake when it has more.
	JobLater
	// JobEnd: none, ever; the connection is done.
	JobEnd
)

// A Feed gives a Pump its requests and takes their results. The Pump calls
// it from several goroutines at once (each connection's calls come one at
// a time, from one of them), and never waits for anything else while in
// it: Next and Done must not block, that is wait for another goroutine or
// another process (a pipe's reader or writer). They may work: a replay's
// Next reads and decodes records of a regular file, and its Done writes
// outcomes to one.
type Feed interface {
	// Next returns the next request for connection conn (0 to Conns-1).
	// buf is that connection's scratch space for the body, which Next may
	// append to or ignore (the Pump hands the returned Body back as the
	// next buf, once the request has left).
	Next(conn int, buf []byte) (Job, NextState)
	// Done takes the result of a Job that Next gave, once, with Job.Sent
	// set. When ctx ended before its answer, Result.Cause is
	// CauseInterrupted.
	Done(conn int, job Job, res Result)
}

// NewPump returns a Pump of p's requests, fed by feed.
func (p *Poster) NewPump(opts PumpOptions, feed Feed) *Pump {
	return &Pump{p: p, conns: max(opts.Conns, 1), feed: feed, engine: opts.Engine, tls: opts.TLS, hold: opts.Hold, wakeCh: make(chan struct{})}
}

// Run sends what the Feed gives until it has no more for any connection or
// ctx ends (then requests under way are cut short, and given back as
// interrupted). It returns once every Job is given back.
func (pu *Pump) Run(ctx context.Context) {
	engine := pu.engine
	if engine == EngineAuto && pu.tls {
		engine = EngineGoroutines
	}
	if engine != EngineGoroutines && loopAvailable {
		pu.runLoops(ctx)
		return
	}
	pu.runGoroutines(ctx)
}

// Wake tells the Pump that the Feed has requests again after it said
// JobLater. It is cheap when no connection waits.
func (pu *Pump) Wake() {
	if pu.parked.Load() == 0 {
		return
	}
	pu.wakeMu.Lock()
	loops := pu.loops
	if loops == nil {
		close(pu.wakeCh)
		pu.wakeCh = make(chan struct{})
	}
	pu.wakeMu.Unlock()
	for _, l := range loops {
		l.wake()
	}
}

// wakeChan returns the channel the next Wake closes.
func (pu *Pump) wakeChan() <-chan struct{} {
	pu.wakeMu.Lock()
	defer pu.wakeMu.Unlock()
	return pu.wakeCh
}

// loopWaker is an event loop, woken from other goroutines.
type loopWaker interface{ wake() }

// loopCount is how many event loops drive conns connections: one per
// processor, as wrk runs a thread per core.
func loopCount(conns int) int { return max(min(runtime.GOMAXPROCS(0), conns), 1) }

// errNoTarget is the failure of a Job with neither Target nor Send (a
// Feed's mistake).
var errNoTarget = errors.New("deliver: a Job without a Target")

// interrupted is the Result of a request ctx ended.
func interrupted(t *Target, ctx context.Context) Result {
	res := Result{Err: ctx.Err(), Cause: CauseInterrupted}
	if res.Err == nil {
		res.Err = context.Canceled
	}
	if t != nil {
		res.URL = t.raw
	}
	return res
}

// runGoroutines drives each connection from a goroutine with a Sender.
func (pu *Pump) runGoroutines(ctx context.Context) {
	var wg sync.WaitGroup
	for conn := range pu.conns {
		wg.Go(func() { pu.connLoop(ctx, conn) })
	}
	wg.Wait()
}

func (pu *Pump) connLoop(ctx context.Context, conn int) {
	s := pu.p.NewSender()
	defer s.Close()
	var buf []byte
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for ctx.Err() == nil {
		job, st := pu.next(ctx, conn, buf[:0])
		if st == JobEnd {
			return
		}
		if !job.At.IsZero() {
			if d := time.Until(job.At); d > 0 {
				if timer == nil {
					timer = time.NewTimer(d)
				} else {
					timer.Reset(d)
				}
				select {
				case <-timer.C:
				case <-ctx.Done():
					pu.feed.Done(conn, job, interrupted(job.Target, ctx))
					return
				}
			}
		}
		var res Result
		switch {
		case job.Send != nil:
			res = job.Send(ctx)
		case job.Target == nil:
			res = Result{Err: errNoTarget, Cause: CauseSetting}
		default:
			res = s.send(ctx, job.Target, job.Body)
		}
		job.Sent = true
		buf = job.Body
		pu.feed.Done(conn, job, res)
	}
}

// next asks the Feed for conn's next job, waiting for Wake while it has
// none yet; JobEnd when ctx ends.
func (pu *Pump) next(ctx context.Context, conn int, buf []byte) (Job, NextState) {
	for {
		job, st := pu.feed.Next(conn, buf)
		if st != JobLater {
			return job, st
		}
		// Counted before asking again, so that a Wake between the two
		// is not lost.
		ch := pu.wakeChan()
		pu.parked.Add(1)
		job, st = pu.feed.Next(conn, buf)
		if st != JobLater {
			pu.parked.Add(-1)
			return job, st
		}
		select {
		case <-ch:
		case <-ctx.Done():
			pu.parked.Add(-1)
			return Job{}, JobEnd
		}
		pu.parked.Add(-1)
	}
}

// send is Post of body to *t that ctx cuts short, as Do's.
func (s *Sender) send(ctx context.Context, t *Target, body []byte) Result {
	s.watch(ctx)
	return s.p.post(ctx, t, body, true, s)
}
