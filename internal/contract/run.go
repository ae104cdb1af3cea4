package contract

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/livecb/livecb/internal/deliver"
	"github.com/livecb/livecb/internal/event"
)

// Outcome of a case.
type Outcome string

const (
	Pass Outcome = "pass"
	Fail Outcome = "fail"
	Skip Outcome = "skip"
)

// SkipError, returned by a Target, skips the case: the service would not
// send that callback (its family is switched off).
type SkipError struct{ Reason string }

func (e *SkipError) Error() string { return e.Reason }

// Options configure a run.
type Options struct {
	// Target returns the URL of a callback about domain in family f. A
	// *SkipError skips the case.
	Target func(domain string, f event.Family) (string, error)
	// Policy is how every callback is delivered; its Expect is the status
	// every callback of a positive case must get (default 200), its
	// Timeout bounds each attempt (default DefaultTimeout, about the
	// service's).
	Policy deliver.Policy
	// NegativeExpect is the status a negative case must get (default 4xx).
	NegativeExpect deliver.Expect
	// Concurrency is how many cases run at once (default 1). The callbacks
	// of one case are sent in order, except a burst's, which are sent at
	// once.
	Concurrency int
	// VerifyCmd, when set, runs through `sh -c` after each case that got
	// the expected answers; its exit status decides the case. It runs in a
	// process group of its own, killed whole when VerifyTimeout passes or
	// the run is interrupted, and when the command ends.
	VerifyCmd     string
	VerifyTimeout time.Duration
	// Environ is the environment VerifyCmd starts from (KEY=value), the
	// LIVECB_* variables of the case added: the caller's, never read from
	// the process here.
	Environ []string
	// Verify, when set, is called after each case that got the expected
	// answers (and passed VerifyCmd); an error fails the case.
	Verify func(ctx context.Context, c *Case) error
}

// Exchange is one request of a case and its answer.
type Exchange struct {
	Kind        event.Kind    `json:"kind,omitempty"`
	URL         string        `json:"url"`
	ContentType string        `json:"content_type"`
	Body        []byte        `json:"-"`
	Status      int           `json:"status,omitempty"`
	Answer      []byte        `json:"-"`
	Latency     time.Duration `json:"-"`
	Err         string        `json:"error,omitempty"`
	Cause       deliver.Cause `json:"cause,omitempty"`
	// Problem says why the exchange failed the case ("" when it did not).
	Problem string `json:"problem,omitempty"`
}

// Verify is how the --verify-cmd ended.
type Verify struct {
	ExitCode int    `json:"exit_code"`
	Stderr   string `json:"stderr,omitempty"`
	Err      string `json:"error,omitempty"`
	// TimedOut says it ran past Options.VerifyTimeout and was killed (Err says
	// so; ExitCode is -1).
	TimedOut bool `json:"timed_out,omitempty"`
}

// Result is the outcome of one case.
type Result struct {
	Case    *Case
	Outcome Outcome
	// Reason says why the case failed or was skipped.
	Reason    string
	Exchanges []Exchange
	// Failed is the index in Exchanges of the (first) request that failed,
	// or -1; Failures counts the requests that failed (a burst's may be
	// several).
	Failed   int
	Failures int
	Verify   *Verify
	Duration time.Duration
	// Interrupted is set on a case the run's end cut short (its context was
	// cancelled: SIGINT, SIGTERM): it is skipped, not failed, since what it
	// got says nothing about the receiver. NotRun cases were never started.
	Interrupted bool
	NotRun      bool
}

// Reasons of the cases an interruption skipped.
const (
	ReasonNotRun      = "not run: interrupted"
	ReasonInterrupted = "interrupted while running: the run was stopped before the case ended (not a failure)"
)

// DefaultTimeout bounds each attempt unless the policy says otherwise:
// about the service's own time limit.
const DefaultTimeout = 2 * time.Second

// Probe checks that every URL is a receiver URL (deliver.CheckURL: a
// *deliver.URLError otherwise) whose host accepts TCP connections (and,
// for https, completes a TLS handshake verified as p says), so that an
// unreachable receiver is reported once, before any case runs. Through a
// proxy, the proxy is what must accept connections.
func Probe(ctx context.Context, urls []string, p deliver.Policy) error {
	// (An error of a receiver that cannot be reached is an *UnreachableError.)
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	seen := map[string]bool{}
	for _, raw := range urls {
		if err := deliver.CheckURL(raw); err != nil {
			return err
		}
		u, _ := url.Parse(raw)
		dest, handshake := u, u.Scheme == "https"
		if p.Proxy != nil {
			if pu, err := p.Proxy(&http.Request{Method: http.MethodPost, URL: u, Host: u.Host, Header: http.Header{}}); err == nil && pu != nil {
				dest, handshake = pu, false
			}
		}
		host := dest.Host
		if dest.Port() == "" {
			port := "80"
			if dest.Scheme == "https" {
				port = "443"
			}
			host = net.JoinHostPort(dest.Hostname(), port)
		}
		if seen[host] {
			continue
		}
		seen[host] = true
		d := net.Dialer{Timeout: timeout}
		conn, err := d.DialContext(ctx, "tcp", host)
		if err != nil {
			return &UnreachableError{URL: raw, Cause: deliver.ConnectCause(err), Err: err, Timeout: timeout}
		}
		if handshake {
			tc := tls.Client(conn, &tls.Config{ServerName: u.Hostname(), InsecureSkipVerify: p.Insecure}) //nolint:gosec // only when the policy says so
			tc.SetDeadline(time.Now().Add(timeout))
			err = tc.HandshakeContext(ctx)
			if err != nil {
				conn.Close()
				return &UnreachableError{URL: raw, Cause: deliver.CauseTLS, Err: err, Timeout: timeout}
			}
		}
		conn.Close()
	}
	return nil
}

// UnreachableError is a receiver Probe could not connect to.
type UnreachableError struct {
	URL     string
	Cause   deliver.Cause
	Err     error
	Timeout time.Duration // the dial's (for a timeout)
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("the receiver at %s is unreachable: %s", e.URL, deliver.Explain(e.Cause, e.Err, e.Timeout))
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// URLs returns the distinct URLs the cases will be sent to, or the first
// routing error other than a skip.
func URLs(cases []Case, target func(string, event.Family) (string, error)) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for i := range cases {
		for _, cb := range cases[i].Callbacks {
			u, err := target(cases[i].Stream.Domain, family(cb))
			var skip *SkipError
			if errors.As(err, &skip) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if !seen[u] {
				seen[u] = true
				out = append(out, u)
			}
		}
	}
	return out, nil
}

// family routes a callback: its kind's family. The negative cases' bodies
// have no kind and go where the first family's callbacks go (stream).
func family(cb Callback) event.Family {
	if f := cb.Kind.Family(); f != "" {
		return f
	}
	return event.Families[0]
}

// newClient is the one place the suite's delivery client is made: every
// request of a run goes through it. conns is how many requests may be in
// flight at once.
func newClient(opts Options, conns int) *deliver.Client {
	return deliver.NewClient(opts.Policy)
}

// Runner runs cases with one set of options and one delivery client.
type Runner struct {
	opts   Options
	client *deliver.Client
}

// NewRunner returns a Runner; conns is the most requests the run will have
// in flight at once (Concurrency, or a burst's size if larger).
func NewRunner(opts Options, conns int) *Runner {
	if opts.Policy.Timeout == 0 {
		opts.Policy.Timeout = DefaultTimeout
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 1
	}
	if opts.NegativeExpect.String() == "" {
		opts.NegativeExpect, _ = deliver.ParseExpect("4xx")
	}
	if opts.VerifyTimeout <= 0 {
		opts.VerifyTimeout = 30 * time.Second
	}
	return &Runner{opts: opts, client: newClient(opts, max(conns, opts.Concurrency))}
}

// InFlight is the most requests a run of cases has in flight at once:
// concurrency cases, or the largest burst (which runs alone).
func InFlight(cases []Case, concurrency int) int {
	most := max(concurrency, 1)
	for i := range cases {
		if cases[i].Burst {
			most = max(most, len(cases[i].Callbacks))
		}
	}
	return most
}

// Run runs the cases and returns their results in the cases' order.
// onResult, when not nil, is called as each case ends (from one goroutine
// at a time). Burst cases run last, one at a time, with nothing else in
// flight: a receiver slowed by a burst (still working off its backlog)
// must not fail the cases of other families. When ctx is cancelled the
// cases in flight end as interrupted, and the cases not started are
// NotRun (onResult is not called for them); every result is returned
// either way.
func Run(ctx context.Context, cases []Case, opts Options, onResult func(Result)) []Result {
	r := NewRunner(opts, InFlight(cases, opts.Concurrency))
	results := make([]Result, len(cases))
	started := make([]bool, len(cases))
	var mu sync.Mutex
	done := func(i int, res Result) {
		mu.Lock()
		defer mu.Unlock()
		results[i] = res
		if onResult != nil {
			onResult(res)
		}
	}
	var bursts []int
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < r.opts.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				done(i, r.Case(ctx, &cases[i]))
			}
		}()
	}
dispatch:
	for i := range cases {
		if cases[i].Burst {
			bursts = append(bursts, i)
			continue
		}
		if ctx.Err() != nil {
			break
		}
		select {
		case next <- i:
			started[i] = true
		case <-ctx.Done():
			break dispatch
		}
	}
	close(next)
	wg.Wait()
	for _, i := range bursts {
		if ctx.Err() != nil {
			break
		}
		started[i] = true
		done(i, r.Case(ctx, &cases[i]))
	}
	for i := range cases {
		if !started[i] {
			results[i] = Result{Case: &cases[i], Outcome: Skip, Reason: ReasonNotRun, Failed: -1, Interrupted: true, NotRun: true}
		}
	}
	return results
}

// Case runs one case.
func (r *Runner) Case(ctx context.Context, c *Case) (res Result) {
	opts := r.opts
	start := time.Now()
	res = Result{Case: c, Outcome: Pass, Failed: -1}
	defer func() { res.Duration = time.Since(start) }()
	interrupted := func() Result {
		res.Outcome, res.Reason, res.Interrupted, res.Failed, res.Failures = Skip, ReasonInterrupted, true, -1, 0
		return res
	}
	if ctx.Err() != nil {
		res.Outcome, res.Reason, res.Interrupted, res.NotRun = Skip, ReasonNotRun, true, true
		return res
	}

	expect := r.client.Policy().Expect
	if c.Negative {
		expect = opts.NegativeExpect
	}
	urls := make([]string, len(c.Callbacks))
	for i, cb := range c.Callbacks {
		u, err := opts.Target(cb.Stream.Domain, family(cb))
		if err != nil {
			res.Outcome, res.Reason = Skip, err.Error()
			return res
		}
		urls[i] = u
	}
	if c.Burst {
		res.Exchanges = make([]Exchange, len(c.Callbacks))
		var wg sync.WaitGroup
		for i := range c.Callbacks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res.Exchanges[i] = r.send(ctx, urls[i], c.Callbacks[i])
			}()
		}
		wg.Wait()
		if ctx.Err() != nil {
			return interrupted()
		}
		for i, ex := range res.Exchanges {
			if reason := check(c, i, ex, expect, opts.Policy.Timeout); reason != "" {
				res.Exchanges[i].Problem = reason
				if res.Failures == 0 {
					res.Failed, res.Reason = i, reason
				}
				res.Failures++
			}
		}
		if res.Failures > 0 {
			res.Outcome = Fail
			res.Reason = fmt.Sprintf("%d of %d callbacks sent at once did not get %s in time; the first: %s", res.Failures, len(c.Callbacks), expect, res.Reason)
			if res.Exchanges[res.Failed].Cause == deliver.CauseTimeout {
				res.Reason += " (a receiver that handles one request at a time, behind one lock, makes the last of a burst wait for all the others)"
			}
			return res
		}
	} else {
		for i, cb := range c.Callbacks {
			if ctx.Err() != nil {
				return interrupted()
			}
			ex := r.send(ctx, urls[i], cb)
			res.Exchanges = append(res.Exchanges, ex)
			if ex.Err != "" && ctx.Err() != nil {
				return interrupted()
			}
			if reason := check(c, i, ex, expect, opts.Policy.Timeout); reason != "" {
				res.Exchanges[i].Problem = reason
				res.Outcome, res.Reason, res.Failed, res.Failures = Fail, reason, i, 1
				return res
			}
		}
	}
	if opts.VerifyCmd != "" {
		v := verify(ctx, c, opts)
		if ctx.Err() != nil {
			return interrupted()
		}
		res.Verify = &v
		if v.ExitCode != 0 || v.Err != "" {
			res.Outcome = Fail
			res.Reason = fmt.Sprintf("the verify command failed (exit %d): the receiver answered as expected but did not do what it should", v.ExitCode)
			switch {
			case v.TimedOut:
				res.Reason = "the verify command " + v.Err
			case v.Err != "":
				res.Reason = "the verify command could not run: " + v.Err
			}
			if s := strings.TrimSpace(v.Stderr); s != "" {
				res.Reason += ": " + excerpt([]byte(s), 300)
			}
			return res
		}
	}
	if opts.Verify != nil {
		err := opts.Verify(ctx, c)
		if ctx.Err() != nil {
			return interrupted()
		}
		if err != nil {
			res.Outcome, res.Reason = Fail, "verify failed: the receiver answered as expected but did not do what it should: "+err.Error()
		}
	}
	return res
}

// send delivers one callback.
func (r *Runner) send(ctx context.Context, url string, cb Callback) Exchange {
	ct := cb.ContentType
	if ct == "" {
		ct = "application/json"
	}
	d := r.client.Do(ctx, deliver.Request{URL: url, Body: cb.Body, ContentType: ct}, nil)
	ex := Exchange{Kind: cb.Kind, URL: url, ContentType: ct, Body: cb.Body, Status: d.Status,
		Answer: d.Excerpt, Latency: d.Latency, Cause: d.Cause}
	if d.Err != nil {
		ex.Err = d.Err.Error()
	}
	return ex
}

// check returns why an exchange fails the case, or "".
func check(c *Case, i int, ex Exchange, expect deliver.Expect, timeout time.Duration) string {
	what := "callback"
	if ex.Kind != "" {
		what = string(ex.Kind)
	}
	where := fmt.Sprintf("request %d of %d (%s)", i+1, len(c.Callbacks), what)
	if len(c.Callbacks) == 1 {
		where = what
	}
	if i == 1 && len(c.Callbacks) == 2 && bytes.Equal(c.Callbacks[0].Body, c.Callbacks[1].Body) {
		where = "the repeated " + what + " (second delivery of the same body)"
	}
	if ex.Err != "" {
		switch {
		case ex.Cause == deliver.CauseTimeout && ex.Status != 0:
			return fmt.Sprintf("%s: answered %d, but the answer did not end within %s (timeout): the service gives up after about 2 s", where, ex.Status, timeout)
		case ex.Cause == deliver.CauseTimeout:
			return fmt.Sprintf("%s: no answer within %s (timeout): the service gives up after about 2 s; answer first, work later", where, timeout)
		case ex.Cause == deliver.CauseReset:
			return fmt.Sprintf("%s: the receiver dropped the connection without answering (did it crash?): %s", where, ex.Err)
		case ex.Status != 0:
			return fmt.Sprintf("%s: answered %d, but the answer failed (%s): %s", where, ex.Status, ex.Cause, ex.Err)
		}
		return fmt.Sprintf("%s: no answer (%s): %s", where, ex.Cause, ex.Err)
	}
	if expect.Match(ex.Status) {
		return ""
	}
	msg := fmt.Sprintf("%s: answered %d %s, want %s", where, ex.Status, http.StatusText(ex.Status), expect)
	switch {
	case c.Negative && ex.Status >= 500:
		msg += ": bad input must be rejected with a 4xx, never a 5xx"
	case ex.Status >= 500:
		msg += ": the receiver failed on a body the service sends"
	case ex.Status >= 400:
		msg += ": the receiver rejected a body the service sends"
	}
	return msg
}

// excerpt returns at most n bytes of b as text, marked when cut.
func excerpt(b []byte, n int) string {
	if len(b) <= n {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return strings.ToValidUTF8(string(b[:n]), "") + fmt.Sprintf("... (%d bytes)", len(b))
}

// Excerpt is excerpt for renderers.
func Excerpt(b []byte, n int) string { return excerpt(b, n) }
