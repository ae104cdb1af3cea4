//go:build linux

package deliver

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net"
	"os"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/valyala/fasthttp"
	"golang.org/x/sys/unix"
)

// The event loop engine of a Pump (see Pump). Each loop owns some of the
// Pump's connections and is the only goroutine that touches them: it
// writes each request with one write(2) of bytes made once per target
// (rawHead), waits for every connection at once in epoll_wait(2), reads
// what arrived and parses it with readAnswer, the Poster's own answer
// reader, so that the bounds and the verdicts are the Poster's. Whatever
// it does not finish itself goes to a goroutine on the Poster's path, and
// comes back as a message: making a connection (Poster.dialContext, whose
// socket the loop then takes over), an answer that did not arrive whole
// within loopMaxReads reads or loopReadMax bytes (its connection handed to
// Go's poller and read to its end by readAnswer), a redirect to follow
// (Poster.redirected), an https request (Poster.post) and a Job's Send.

const loopAvailable = true

const (
	loopReadMin  = 512      // a connection's first read buffer
	loopReadMax  = 16 << 10 // an answer still incomplete at this size goes to a goroutine
	loopMaxReads = 8        // as does one still incomplete after this many reads
	loopEvents   = 128      // events taken per epoll_wait
	wakeIndex    = -1       // the epoll data of a loop's eventfd
	timerIndex   = -2       // and of its timerfd
	maxHeads     = maxTargets
)

type connState uint8

const (
	csIdle    connState = iota // between jobs
	csParked                   // waiting for the Feed (JobLater)
	csDue                      // a job waiting for its time
	csDialing                  // a job whose connection is being made
	csWriting                  // writing the request
	csReading                  // waiting for, or reading, the answer
	csAway                     // a job on a goroutine
	csEnd                      // done
)

// lconn is one of the Pump's connections, and its job.
type lconn struct {
	conn    int // the Pump's number of it
	local   int // its index in its loop
	state   connState
	fd      int    // -1: no connection
	gen     uint32 // of fd's registration: events of an earlier one are stale
	addr    string // what fd is connected to
	pollOut bool   // waiting for fd to be writable, not readable
	parked  bool   // counted in Pump.parked

	job      Job
	scratch  []byte // the body buffer Next appends to
	req      []byte // the request's bytes
	wrote    int
	due      mono // when the job is due (csDue)
	start    mono
	deadline mono

	in       []byte // what arrived of the answer
	scanned  int    // how far in no head end was found
	reads    int
	headDone bool // a head was parsed (status is its status)
	status   int
}

// loopMsg is what a goroutine gives back to its loop.
type loopMsg struct {
	c    *lconn
	dial bool
	fd   int // the connection made, or -1
	addr string
	err  error // the dial's failure
	res  Result
}

type evloop struct {
	pu   *Pump
	ctx  context.Context
	ep   int
	epf  *os.File        // ep, in Go's poller
	poll syscall.RawConn // epf's
	// pollOnce is pollOnceFunc, and polled and pollErr its results.
	pollOnce func(uintptr) bool
	polled   int
	pollErr  error
	efd      int
	conns    []*lconn
	active   int // connections not ended
	away     int // goroutines out
	events   []unix.EpollEvent
	// checkAt is the earliest deadline or due time to look at (zero:
	// none); tfd, a timerfd, is armed for armed. (epoll_wait's own timeout
	// counts milliseconds: a job due in 200 µs would leave up to a
	// millisecond late, and an open-loop latency counts that.)
	checkAt mono
	tfd     int
	armed   mono
	heads   map[*Target]rawHead

	resp *fasthttp.Response
	rd   *reader
	src  bytesSource

	// yield is set once the Feed said JobLater: it is fed by other
	// goroutines, and the loop waits in Go's poller (wait).
	yield bool

	stopping atomic.Bool // ctx ended
	aborted  bool
	woken    atomic.Bool
	mu       sync.Mutex
	inbox    []loopMsg
}

func (pu *Pump) runLoops(ctx context.Context) {
	n := loopCount(pu.conns)
	loops := make([]*evloop, 0, n)
	for range n {
		l, err := newLoop(pu, ctx)
		if err != nil {
			// No epoll or eventfd to be had: the goroutines do the same.
			for _, l := range loops {
				l.close()
			}
			pu.runGoroutines(ctx)
			return
		}
		loops = append(loops, l)
	}
	for conn := range pu.conns {
		l := loops[conn%n]
		l.conns = append(l.conns, &lconn{conn: conn, local: len(l.conns), fd: -1})
	}
	wakers := make([]loopWaker, n)
	for i, l := range loops {
		wakers[i] = l
	}
	pu.wakeMu.Lock()
	pu.loops = wakers
	pu.wakeMu.Unlock()
	var wg sync.WaitGroup
	for _, l := range loops {
		wg.Go(l.run)
	}
	wg.Wait()
	for _, l := range loops {
		l.close()
	}
}

func newLoop(pu *Pump, ctx context.Context) (*evloop, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(ep)
		return nil, err
	}
	tfd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		unix.Close(ep)
		unix.Close(efd)
		return nil, err
	}
	for _, fd := range [...][2]int{{efd, wakeIndex}, {tfd, timerIndex}} {
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd[1])}
		if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, fd[0], &ev); err != nil {
			unix.Close(ep)
			unix.Close(efd)
			unix.Close(tfd)
			return nil, err
		}
	}
	// The epoll in Go's poller (it takes a non-blocking descriptor).
	if err := unix.SetNonblock(ep, true); err != nil {
		unix.Close(ep)
		unix.Close(efd)
		unix.Close(tfd)
		return nil, err
	}
	epf := os.NewFile(uintptr(ep), "epoll")
	poll, err := epf.SyscallConn()
	if err != nil {
		epf.Close()
		unix.Close(efd)
		unix.Close(tfd)
		return nil, err
	}
	l := &evloop{pu: pu, ctx: ctx, ep: ep, epf: epf, poll: poll, efd: efd, tfd: tfd, events: make([]unix.EpollEvent, loopEvents),
		heads: map[*Target]rawHead{}, resp: &fasthttp.Response{}, rd: newReader()}
	l.pollOnce = l.pollOnceFunc
	return l, nil
}

func (l *evloop) close() {
	for _, c := range l.conns {
		l.closeConn(c)
	}
	unix.Close(l.tfd)
	unix.Close(l.efd)
	l.epf.Close() // (the epoll's own descriptor)
}

// wait waits for events. A loop whose Feed makes its jobs when asked (load
// mode) blocks in epoll_wait, as wrk does. One whose Feed is fed by other
// goroutines (it said JobLater: a replay's reading) waits in Go's poller
// instead: a goroutine blocked in a system call keeps its processor until
// the runtime's monitor takes it back (20 µs to 10 ms later), and gets one
// back only when one is free, so the reading waited for the loops'
// processors and the loops for theirs (a replay reached 0.73 of load mode
// that way, 0.80 this way; load mode itself spends more per request in
// Go's poller). The loop's epoll is itself pollable: Go's poller says when
// it has events, and the loop parks until then as any goroutine waiting for
// the network does.
//
// A loop of a Pump that may hold (PumpOptions.Hold: load mode's closed
// loop, an unpaced replay's reading connections), with no goroutine of
// its Pump's out, waits without telling the
// scheduler (rawWait), holding its processor: told, the
// runtime's monitor takes a processor from a goroutine blocked 20 µs in a
// system call and wakes a thread to look for other work (there is none),
// and the loop, woken, waits for a processor again. That was a thread
// woken and put back to sleep for most requests, and 15% of load mode's
// rate (wrk does neither). What else the process runs waits for the
// monitor's preemption instead (it interrupts the wait within 10 ms), and
// a goroutine of the Pump out (a dial, an answer handed off) makes every
// loop wait the usual way until it is back. So do all, for a pause, once
// the scheduler says goroutines waited holdLatency or more to run: the
// answers may come from goroutines of this process (a receiver in a test),
// which the held processors kept from running until the monitor's
// preemption (starvation).
func (l *evloop) wait() (int, error) {
	if !l.yield {
		if n, err := rawPoll(l.ep, l.events); n > 0 || err != nil && err != unix.EINTR {
			return n, err
		}
		if l.pu.hold && holdWait && l.pu.away.Load() == 0 && l.pu.starving.allows(monoNow()) {
			return rawWait(l.ep, l.events)
		}
		return unix.EpollWait(l.ep, l.events, -1)
	}
	l.polled, l.pollErr = 0, nil
	if err := l.poll.Read(l.pollOnce); err != nil && l.pollErr == nil {
		l.pollErr = err
	}
	return l.polled, l.pollErr
}

// pollOnce polls the epoll for wait's RawConn.Read (made once: a closure
// made for each wait was an allocation a wait).
func (l *evloop) pollOnceFunc(uintptr) bool {
	l.polled, l.pollErr = rawPoll(l.ep, l.events)
	return l.polled > 0 || l.pollErr != nil && l.pollErr != unix.EINTR
}

// arm sets the timer for checkAt.
func (l *evloop) arm() {
	if l.checkAt == l.armed {
		return
	}
	var spec unix.ItimerSpec // (zero: disarmed)
	if l.checkAt != 0 {
		spec.Value = unix.NsecToTimespec(int64(max(l.checkAt-monoNow(), 1)))
	}
	unix.TimerfdSettime(l.tfd, 0, &spec, nil) //nolint:errcheck // a valid timerfd and time
	l.armed = l.checkAt
}

// wake makes the loop look at its inbox and its parked connections.
func (l *evloop) wake() {
	if l.woken.CompareAndSwap(false, true) {
		one := [8]byte{1}
		unix.Write(l.efd, one[:]) //nolint:errcheck // a full counter wakes it all the same
	}
}

// post gives the loop a message from a goroutine.
func (l *evloop) post(m loopMsg) {
	l.mu.Lock()
	l.inbox = append(l.inbox, m)
	l.mu.Unlock()
	l.wake()
}

func (l *evloop) run() {
	l.active = len(l.conns)
	stop := context.AfterFunc(l.ctx, func() {
		l.stopping.Store(true)
		l.wake()
	})
	defer stop()
	for _, c := range l.conns {
		l.dispatch(c)
	}
	for l.active > 0 || l.away > 0 {
		if l.stopping.Load() && !l.aborted {
			l.abort()
			continue
		}
		l.arm()
		n, err := l.wait()
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			// Cannot happen with a valid epoll and buffer; should it,
			// wait a little instead of spinning.
			time.Sleep(time.Millisecond)
			continue
		}
		for _, ev := range l.events[:n] {
			switch ev.Fd {
			case wakeIndex:
				l.drain()
				continue
			case timerIndex:
				var b [8]byte
				unix.Read(l.tfd, b[:]) //nolint:errcheck // only to clear it
				l.armed = 0
				continue
			}
			c := l.conns[ev.Fd]
			if c.fd < 0 || uint32(ev.Pad) != c.gen {
				continue // an event of a connection since closed
			}
			l.event(c)
		}
		if l.checkAt != 0 && monoNow() >= l.checkAt {
			l.checkTimes()
		}
	}
}

// drain takes the loop's messages and gives parked connections another
// chance at a job.
func (l *evloop) drain() {
	var b [8]byte
	unix.Read(l.efd, b[:]) //nolint:errcheck // only to clear the counter
	l.woken.Store(false)
	l.mu.Lock()
	msgs := l.inbox
	l.inbox = nil
	l.mu.Unlock()
	for _, m := range msgs {
		l.away--
		c := m.c
		switch {
		case !m.dial:
			l.finish(c, m.res)
		case m.err != nil:
			l.fail(c, stageConnect, m.err)
		case l.stopping.Load():
			unix.Close(m.fd)
			l.finish(c, interrupted(c.job.Target, l.ctx))
		default:
			c.fd, c.addr = m.fd, m.addr
			c.gen++
			ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(c.local), Pad: int32(c.gen)}
			if err := unix.EpollCtl(l.ep, unix.EPOLL_CTL_ADD, c.fd, &ev); err != nil {
				unix.Close(c.fd)
				c.fd, c.addr = -1, ""
				l.fail(c, stageConnect, os.NewSyscallError("epoll_ctl", err))
				continue
			}
			c.state = csWriting
			l.write(c)
		}
	}
	for _, c := range l.conns {
		if c.state == csParked {
			l.dispatch(c)
		}
	}
}

// abort ends what is under way when ctx ended: every job still held is
// given back interrupted; those on goroutines come back (cut short by
// ctx) and are given back then.
func (l *evloop) abort() {
	l.aborted = true
	for _, c := range l.conns {
		switch c.state {
		case csDue:
			job := c.job
			c.job = Job{}
			l.pu.feed.Done(c.conn, job, interrupted(job.Target, l.ctx))
			l.end(c)
		case csWriting, csReading:
			l.closeConn(c)
			l.finish(c, interrupted(c.job.Target, l.ctx))
		case csIdle, csParked:
			l.end(c)
		}
	}
}

// dispatch gives c its next job, or parks or ends it.
func (l *evloop) dispatch(c *lconn) {
	for {
		if l.stopping.Load() {
			l.end(c)
			return
		}
		job, st := l.pu.feed.Next(c.conn, c.scratch[:0])
		switch st {
		case JobEnd:
			l.end(c)
			return
		case JobLater:
			// (A Feed that may hold has jobs again without another
			// goroutine's help, PumpOptions.Hold. Else the loop waits in
			// Go's poller from now on, to let its feeders run.)
			l.yield = l.yield || !l.pu.hold
			if !c.parked {
				// Counted before asking again, so that a Wake between
				// the two is not lost.
				c.parked = true
				l.pu.parked.Add(1)
				continue
			}
			c.state = csParked
			return
		}
		if c.parked {
			c.parked = false
			l.pu.parked.Add(-1)
		}
		c.job = job
		if !job.At.IsZero() {
			if due := monoOf(job.At); due > monoNow() {
				c.state, c.due = csDue, due
				l.noteTime(due)
				return
			}
		}
		l.start(c)
		return
	}
}

// end ends a connection: no more jobs.
func (l *evloop) end(c *lconn) {
	if c.parked {
		c.parked = false
		l.pu.parked.Add(-1)
	}
	l.closeConn(c)
	if c.state != csEnd {
		c.state = csEnd
		l.active--
	}
}

// start sends c's job.
func (l *evloop) start(c *lconn) {
	job := c.job
	t := job.Target
	c.start = monoNow()
	c.deadline = c.start + mono(l.pu.p.policy.Timeout)
	if t == nil && job.Send == nil {
		l.finish(c, Result{Err: errNoTarget, Cause: CauseSetting})
		return
	}
	if job.Send != nil || t.hc.IsTLS {
		l.goAway(c, func(ctx context.Context) Result {
			if job.Send != nil {
				return job.Send(ctx)
			}
			return l.pu.p.post(ctx, t, job.Body, true, nil)
		})
		return
	}
	h, ok := l.heads[t]
	if !ok {
		var err error
		if h, err = t.rawHead(); err != nil {
			l.finish(c, Result{Err: err, Cause: CauseOther})
			return
		}
		if len(l.heads) >= maxHeads {
			clear(l.heads)
		}
		l.heads[t] = h
	}
	c.req = h.appendRequest(c.req[:0], job.Body)
	c.wrote = 0
	if c.fd >= 0 && c.addr != t.hc.Addr {
		l.closeConn(c)
	}
	if c.fd < 0 {
		l.dial(c, t.hc.Addr)
		return
	}
	c.state = csWriting
	l.write(c)
}

// goAway runs f, c's job, on a goroutine.
func (l *evloop) goAway(c *lconn, f func(context.Context) Result) {
	c.state = csAway
	l.away++
	l.pu.away.Add(1)
	start, ctx := c.start, l.ctx
	go func() {
		res := f(ctx)
		if res.Latency == 0 {
			res.Latency = time.Duration(monoNow() - start)
		}
		l.pu.away.Add(-1)
		l.post(loopMsg{c: c, res: res})
	}()
}

// dial makes c's connection on a goroutine, as the Poster makes its own.
func (l *evloop) dial(c *lconn, addr string) {
	c.state = csDialing
	l.away++
	l.pu.away.Add(1)
	deadline, ctx, p := c.deadline.time(), l.ctx, l.pu.p
	go func() {
		m := loopMsg{c: c, dial: true, fd: -1, addr: addr}
		conn, err := p.dialContext(ctx, false, "", addr, deadline)
		if err == nil {
			m.fd, err = detach(conn)
		}
		m.err = err
		l.pu.away.Add(-1)
		l.post(m)
	}()
}

// detach takes a connection's socket from Go's poller: a duplicate of it,
// non-blocking as Go made it; conn is closed.
func detach(conn net.Conn) (int, error) {
	defer conn.Close()
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		return -1, errors.New("deliver: not a TCP connection")
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	cerr := raw.Control(func(s uintptr) {
		fd, err = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0)
	})
	if cerr != nil {
		return -1, cerr
	}
	if err != nil {
		return -1, os.NewSyscallError("fcntl", err)
	}
	return fd, nil
}

func (l *evloop) write(c *lconn) {
	for c.wrote < len(c.req) {
		n, err := rawWrite(c.fd, c.req[c.wrote:])
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			if !c.pollOut {
				l.interest(c, unix.EPOLLOUT)
				c.pollOut = true
			}
			l.noteTime(c.deadline)
			return
		case err != nil:
			l.fail(c, stageHead, opError("write", c, err))
			return
		}
		c.wrote += n
	}
	if c.pollOut {
		l.interest(c, unix.EPOLLIN|unix.EPOLLRDHUP)
		c.pollOut = false
	}
	c.state = csReading
	c.in, c.scanned, c.reads, c.headDone, c.status = c.in[:0], 0, 0, false, 0
	l.noteTime(c.deadline)
}

func (l *evloop) interest(c *lconn, events uint32) {
	ev := unix.EpollEvent{Events: events, Fd: int32(c.local), Pad: int32(c.gen)}
	unix.EpollCtl(l.ep, unix.EPOLL_CTL_MOD, c.fd, &ev) //nolint:errcheck // c.fd is registered
}

// opError is a system call's failure on c's connection, worded as Go's.
func opError(op string, c *lconn, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Err: os.NewSyscallError(op, err)}
}

// event handles what epoll reported for c.
func (l *evloop) event(c *lconn) {
	switch c.state {
	case csWriting:
		l.write(c)
	case csReading:
		l.read(c)
	default:
		// A connection between requests spoke or was closed: its bytes
		// would be taken for the next answer. Not used again.
		l.closeConn(c)
	}
}

func (l *evloop) read(c *lconn) {
	switch {
	case cap(c.in) == 0:
		c.in = make([]byte, 0, loopReadMin)
	case len(c.in) == cap(c.in):
		if cap(c.in) >= loopReadMax {
			l.handOff(c)
			return
		}
		c.in = append(make([]byte, 0, 2*cap(c.in)), c.in...)
	}
	n, err := rawRead(c.fd, c.in[len(c.in):cap(c.in)])
	var term error
	switch {
	case err == unix.EAGAIN || err == unix.EINTR:
		return
	case err != nil:
		term = opError("read", c, err)
	case n == 0:
		term = io.EOF
	default:
		c.in = c.in[:len(c.in)+n]
	}
	c.reads++
	l.parse(c, term)
}

// parse looks at what arrived of c's answer; term, when set, is how the
// connection ended after it.
func (l *evloop) parse(c *lconn, term error) {
	if status, closes, n, ok := quickAnswer(c.in, l.pu.p.policy.MaxResponse); ok {
		// The answer nearly every receiver gives, all there: read by
		// quickAnswer as readAnswer reads it. (Bytes beyond it, or a
		// receiver that closes, and the connection is not used again.)
		if term != nil || n != len(c.in) || closes {
			l.closeConn(c)
		}
		l.finish(c, Result{Status: status, Matched: l.pu.p.policy.Expect.Match(status), connected: true})
		return
	}
	if term == nil && !c.headDone && c.reads > 1 {
		// Nothing to parse before the end of a head has arrived. (The
		// first read is parsed at once: it mostly holds the whole answer,
		// and the answer reader looks for the head's end itself.)
		if headEnd(c.in, c.scanned) < 0 {
			c.scanned = max(len(c.in)-2, 0)
			if c.reads >= loopMaxReads {
				l.handOff(c)
			}
			return
		}
	}
	l.src = bytesSource{b: c.in, term: term}
	l.rd.reset(&l.src)
	l.resp.Reset()
	st, err := readAnswer(l.rd, l.resp, l.pu.p.policy.MaxResponse)
	if l.src.short && term == nil {
		// It wants more than arrived: wait for it, or let a goroutine
		// read an answer that comes in many parts.
		if st == stageBody {
			c.headDone, c.status = true, l.resp.StatusCode()
		}
		if c.reads >= loopMaxReads {
			l.handOff(c)
		}
		return
	}
	if err != nil {
		if st == stageBody {
			c.headDone, c.status = true, l.resp.StatusCode()
		}
		l.fail(c, st, err)
		return
	}
	// Bytes beyond the answer would be taken for the next one's: the
	// connection is not used again (nor when the receiver closes it).
	if term != nil || l.src.i-l.rd.br.Buffered() != len(c.in) || l.resp.ConnectionClose() {
		l.closeConn(c)
	}
	t := c.job.Target
	status := l.resp.StatusCode()
	res, next, follow := l.pu.p.settle(t, status, &l.resp.Header)
	if follow {
		body, deadline, p := c.job.Body, c.deadline.time(), l.pu.p
		l.goAway(c, func(ctx context.Context) Result {
			return p.redirected(ctx, t, body, next, deadline)
		})
		return
	}
	l.finish(c, res)
}

// handOff gives c's answer, incomplete, to a goroutine that reads it to its
// end as the Poster reads every answer (and follows a redirect).
func (l *evloop) handOff(c *lconn) {
	fd := c.fd
	unix.EpollCtl(l.ep, unix.EPOLL_CTL_DEL, fd, nil) //nolint:errcheck // fd is registered
	c.fd, c.addr, c.pollOut = -1, "", false
	arrived := bytes.Clone(c.in)
	t, body, deadline, p := c.job.Target, c.job.Body, c.deadline.time(), l.pu.p
	l.goAway(c, func(ctx context.Context) Result {
		return p.readRest(ctx, t, body, fd, arrived, deadline)
	})
}

// readRest reads the answer to a request to t on the connection fd, of
// which arrived came already, to its end by deadline (ctx cuts it short),
// and follows it if it redirects; fd is closed.
func (p *Poster) readRest(ctx context.Context, t *Target, body []byte, fd int, arrived []byte, deadline time.Time) Result {
	res := Result{URL: t.raw, connected: true}
	f := os.NewFile(uintptr(fd), "receiver")
	conn, err := net.FileConn(f)
	f.Close()
	if err != nil {
		res.Err, res.Cause = err, classify(err, stageHead)
		return res
	}
	defer conn.Close()
	conn.SetDeadline(deadline)                                           //nolint:errcheck // a socket takes one
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(longAgo) }) //nolint:errcheck // as above
	defer stop()
	r := acquireReader(io.MultiReader(bytes.NewReader(arrived), conn))
	defer releaseReader(r)
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	st, err := readAnswer(r, resp, p.policy.MaxResponse)
	if err != nil {
		if st == stageBody {
			res.Status = resp.StatusCode()
		}
		if cerr := ctx.Err(); cerr != nil {
			err = cerr
		}
		res.Err, res.Cause = err, classify(err, st)
		return res
	}
	res, next, follow := p.settle(t, resp.StatusCode(), &resp.Header)
	if follow {
		return p.redirected(ctx, t, body, next, deadline)
	}
	return res
}

// fail ends c's job with err, at stage st; its connection is not used
// again.
func (l *evloop) fail(c *lconn, st stage, err error) {
	res := Result{connected: st > stageConnect}
	if st == stageBody && c.headDone {
		res.Status = c.status
	}
	if cerr := l.ctx.Err(); cerr != nil {
		err = cerr
	}
	res.Err, res.Cause = err, classify(err, st)
	l.closeConn(c)
	l.finish(c, res)
}

// finish gives c's job back with res, and takes the next.
func (l *evloop) finish(c *lconn, res Result) {
	job := c.job
	c.job = Job{}
	if job.Target != nil {
		res.URL = job.Target.raw
	}
	if res.Latency == 0 {
		res.Latency = time.Duration(monoNow() - c.start)
	}
	job.Sent = true
	if job.Send == nil {
		c.scratch = job.Body
	}
	c.state = csIdle
	l.pu.feed.Done(c.conn, job, res)
	l.dispatch(c)
}

func (l *evloop) closeConn(c *lconn) {
	if c.fd < 0 {
		return
	}
	unix.EpollCtl(l.ep, unix.EPOLL_CTL_DEL, c.fd, nil) //nolint:errcheck // c.fd is registered
	unix.Close(c.fd)
	c.fd, c.addr, c.pollOut = -1, "", false
}

// noteTime makes the loop look at the connections by t.
func (l *evloop) noteTime(t mono) {
	if l.checkAt == 0 || t < l.checkAt {
		l.checkAt = t
	}
}

// checkTimes sends the jobs that are due and fails those past their
// deadline.
func (l *evloop) checkTimes() {
	now := monoNow()
	l.checkAt = 0
	for _, c := range l.conns {
		switch c.state {
		case csDue:
			if now < c.due {
				l.noteTime(c.due)
			} else {
				l.start(c)
			}
		case csWriting, csReading:
			if now < c.deadline {
				l.noteTime(c.deadline)
				continue
			}
			st := stageHead
			if c.headDone {
				st = stageBody
			}
			l.fail(c, st, &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded})
		}
	}
}

// bytesSource reads what arrived of an answer, then term, or errMore when
// the connection has not ended (short is then set: the parse was cut
// short by the bytes it had, not by the answer).
type bytesSource struct {
	b     []byte
	i     int
	term  error
	short bool
}

var errMore = errors.New("deliver: more of the answer to come")

func (s *bytesSource) Read(p []byte) (int, error) {
	if s.i < len(s.b) {
		n := copy(p, s.b[s.i:])
		s.i += n
		return n, nil
	}
	s.short = true
	if s.term != nil {
		return 0, s.term
	}
	return 0, errMore
}

// mono is a monotonic time, nanoseconds since monoEpoch: one clock read
// where time.Now makes two (the wall clock too), and the loop reads the
// clock twice a request.
type mono int64

var monoEpoch = time.Now()

func monoNow() mono            { return mono(time.Since(monoEpoch)) }
func monoOf(t time.Time) mono  { return mono(t.Sub(monoEpoch)) }
func (m mono) time() time.Time { return monoEpoch.Add(time.Duration(m)) }

// holdWait: loops may wait holding their processor (wait). Not when
// asynchronous preemption is off (GODEBUG=asyncpreemptoff=1): the monitor
// could not interrupt the wait for the rest of the process.
var holdWait = !strings.Contains(os.Getenv("GODEBUG"), "asyncpreemptoff=1")

// starvation watches how long goroutines wait to run, from the runtime's
// own metric (/sched/latencies:seconds), for the loops holding their
// processors (wait): it allows holding unless, at its last look, some
// goroutine had waited holdLatency or more since the look before; then not
// for a pause. It looks at most every holdCheck.
//
// The pause is short (holdPauseMin) for a wait now and then: the runtime's
// own goroutines, such as the sweeper readied as each collection ends,
// wait for the loops' preemption every hundred milliseconds or so while a
// replay allocates, and a long pause for each left the loops unheld half
// the time. It doubles, up to holdPauseMax, when goroutines starve again
// soon after a pause (within holdRecur): goroutines that keep wanting a
// processor, such as a receiver in the same process, get one.
type starvation struct {
	mu     sync.Mutex
	next   atomic.Int64 // when to look again (a mono)
	sample []metrics.Sample
	from   int    // the first bucket of latencies from holdLatency on
	seen   uint64 // the waits in those buckets at the last look
	off    atomic.Int64
	pause  mono // the last pause
	last   mono // when it last starved
}

const (
	holdLatency  = 1e-3 // seconds
	holdPauseMin = mono(20 * time.Millisecond)
	holdPauseMax = mono(640 * time.Millisecond)
	holdRecur    = mono(50 * time.Millisecond)
	holdCheck    = mono(5 * time.Millisecond)
)

func (s *starvation) allows(now mono) bool {
	if now < mono(s.off.Load()) {
		return false
	}
	if now < mono(s.next.Load()) || !s.mu.TryLock() {
		return true
	}
	defer s.mu.Unlock()
	s.next.Store(int64(now + holdCheck))
	first := s.sample == nil
	if first {
		s.sample = []metrics.Sample{{Name: "/sched/latencies:seconds"}}
	}
	metrics.Read(s.sample)
	if s.sample[0].Value.Kind() != metrics.KindFloat64Histogram {
		s.off.Store(math.MaxInt64) // (no such metric: never hold)
		return false
	}
	h := s.sample[0].Value.Float64Histogram()
	if s.from == 0 {
		s.from = len(h.Counts)
		for i := range h.Counts {
			if h.Buckets[i] >= holdLatency {
				s.from = i
				break
			}
		}
	}
	var n uint64
	for _, c := range h.Counts[s.from:] {
		n += c
	}
	starved := n > s.seen && !first // (the first look counts what came before the Pump)
	s.seen = n
	if !starved {
		return true
	}
	if s.pause != 0 && now-s.last < s.pause+holdRecur {
		s.pause = min(2*s.pause, holdPauseMax)
	} else {
		s.pause = holdPauseMin
	}
	s.last = now
	s.off.Store(int64(now + s.pause))
	return false
}

// rawWait is an epoll_wait(2) that waits, made without telling the
// scheduler (see wait).
func rawWait(ep int, events []unix.EpollEvent) (int, error) {
	n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(ep), uintptr(unsafe.Pointer(unsafe.SliceData(events))), uintptr(len(events)), ^uintptr(0), 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// rawPoll is an epoll_wait(2) that does not wait, made without telling
// the scheduler (see rawRead).
func rawPoll(ep int, events []unix.EpollEvent) (int, error) {
	n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(ep), uintptr(unsafe.Pointer(unsafe.SliceData(events))), uintptr(len(events)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
