// Package deliver POSTs callback bodies to receivers the way the live-video
// service does, and reports how each receiver answered: status, latency, the
// first part of the body, and for failures the cause (refused, DNS,
// timeout, TLS, an answer cut short or too large...). Every path that sends
// goes through it, under one Policy: send and replay and the contract suite
// and the listener's forwarding with a Client (net/http), load mode with a
// Poster (fasthttp).
package deliver

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"time"
)

// Client delivers callbacks under a Policy. It is safe for concurrent use
// and keeps connections alive between requests.
type Client struct {
	policy Policy
	err    error // the policy's, returned by every Do
	http   *http.Client
}

// idleConns bounds the kept-alive connections of a Client; no more are
// open than requests under way, which the callers bound.
const idleConns = 1024

// NewClient returns a Client for p. A policy that fails Check gives a
// Client whose every delivery fails with that *SettingError (CauseSetting):
// check it first to report it once.
func NewClient(p Policy) *Client {
	c := &Client{err: p.Check(), policy: p.withDefaults()}
	p = c.policy
	tr := &http.Transport{
		Proxy:                  p.Proxy,
		DialContext:            (&net.Dialer{Timeout: p.Timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:        &tls.Config{InsecureSkipVerify: p.Insecure}, //nolint:gosec // only when the policy says so
		TLSHandshakeTimeout:    p.Timeout,
		DisableCompression:     true, // no Accept-Encoding: the service sends none
		MaxIdleConns:           idleConns,
		MaxIdleConnsPerHost:    idleConns,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: MaxHeaderBytes,
	}
	// HTTP/1.1 only, as the service and the Poster speak it.
	tr.Protocols = new(http.Protocols)
	tr.Protocols.SetHTTP1(true)
	c.http = &http.Client{Transport: tr, Timeout: p.Timeout, CheckRedirect: c.checkRedirect}
	return c
}

// Policy returns the client's policy, defaults filled in.
func (c *Client) Policy() Policy { return c.policy }

// Request is one callback to deliver.
type Request struct {
	URL         string
	Body        []byte
	ContentType string      // default application/json
	Header      http.Header // this request's, over the policy's
	// Keep is how much of the answer's body Result.Excerpt keeps: 0 is
	// ExcerptSize; a forwarder that passes the answer on keeps all of it
	// (at most the policy's MaxResponse, beyond which the answer fails).
	Keep int
}

// Attempt is one try of a request.
type Attempt struct {
	Status  int           `json:"status,omitempty"`
	Latency time.Duration `json:"latency_ns"`
	Err     string        `json:"error,omitempty"`
	Cause   Cause         `json:"cause,omitempty"`
}

// Result is how the receiver answered (the last attempt) and every attempt.
type Result struct {
	URL string
	// Status is the answer's, also when the answer then failed (cut short,
	// too large, a redirect refused): for display only when Err is set.
	Status  int
	Header  http.Header
	Excerpt []byte // the first Request.Keep (default ExcerptSize) bytes of the answer's body
	Latency time.Duration
	// Err is nil when a complete HTTP answer arrived, whatever its status.
	Err   error
	Cause Cause // set with Err
	// Matched is true when a complete answer arrived with a status the
	// policy expects.
	Matched  bool
	Attempts []Attempt
	// connected is whether the last attempt reached the receiver (or its
	// proxy).
	connected bool
}

// Unreachable reports whether the last attempt could not reach the
// receiver at all: refused, DNS, TLS handshake, no connection within the
// timeout. A failure after that (a timeout waiting for the answer, an
// answer cut short, too large or malformed, a redirect refused) is the
// receiver's answer to this request, not a sign that it is down.
func (r Result) Unreachable() bool {
	return r.Err != nil && !r.connected && r.Cause != CauseURL && r.Cause != CauseSetting && r.Cause != CauseInterrupted
}

// retryable reports whether a failure is worth another attempt.
func retryable(c Cause) bool {
	switch c {
	case CauseURL, CauseSetting, CauseRedirect, CauseTooLarge, CauseInterrupted:
		return false
	}
	return true
}

// Do delivers r, retrying failures and 5xx answers as the policy says.
// onAttempt, when not nil, is called after each attempt (to report retries
// as they happen).
func (c *Client) Do(ctx context.Context, r Request, onAttempt func(n int, a Attempt)) Result {
	if c.err != nil {
		return Result{URL: r.URL, Err: c.err, Cause: CauseSetting}
	}
	if err := CheckURL(r.URL); err != nil {
		return Result{URL: r.URL, Err: err, Cause: CauseURL}
	}
	wait := c.policy.Backoff
	var attempts []Attempt
	for n := 0; ; n++ {
		res := c.once(ctx, r)
		a := Attempt{Status: res.Status, Latency: res.Latency}
		if res.Err != nil {
			a.Err, a.Cause = res.Err.Error(), res.Cause
		}
		attempts = append(attempts, a)
		res.Attempts = attempts
		if onAttempt != nil {
			onAttempt(n+1, a)
		}
		again := (res.Err != nil && retryable(res.Cause)) || (res.Err == nil && res.Status >= 500)
		if !again || n >= c.policy.Retries || ctx.Err() != nil {
			return res
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return res
		}
		wait *= 2
	}
}

// attempt is the state of one attempt, for the redirect check and the
// trace.
type attempt struct {
	first, cur hop
	ct         string
	extra      http.Header
	// connected is set once a connection is made; hopConnected for the
	// request under way (a redirect starts another).
	connected, hopConnected bool
}

type attemptKey struct{}

func (c *Client) once(ctx context.Context, r Request) Result {
	res := Result{URL: r.URL}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		res.Err, res.Cause = err, CauseURL
		return res
	}
	a := &attempt{ct: r.ContentType, extra: r.Header}
	if a.ct == "" {
		a.ct = "application/json"
	}
	a.first = c.policy.firstHop(req.URL, r.Header)
	a.cur = a.first
	trace := &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { a.connected, a.hopConnected = true, true }}
	req = req.WithContext(httptrace.WithClientTrace(context.WithValue(ctx, attemptKey{}, a), trace))
	c.apply(req, a, a.first)

	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		res.Latency = time.Since(start)
		if resp != nil {
			res.Status = resp.StatusCode // a redirect not followed
		}
		st := stageConnect
		if a.hopConnected {
			st = stageHead
		}
		res.Err, res.Cause, res.connected = err, classify(err, st), a.connected
		return res
	}
	keep := ExcerptSize
	if r.Keep > 0 {
		keep = int(min(int64(r.Keep), c.policy.MaxResponse))
	}
	res.Excerpt, err = readBody(resp.Body, resp.ContentLength, c.policy.MaxResponse, keep)
	resp.Body.Close()
	res.Latency = time.Since(start)
	res.Status, res.Header, res.connected = resp.StatusCode, resp.Header, true
	if err != nil {
		res.Err, res.Cause = err, classify(err, stageBody)
		return res
	}
	res.Matched = c.policy.Expect.Match(res.Status)
	return res
}

// apply sets req's Host and header for hop h of attempt a: exactly the
// policy's, nothing of net/http's own (no Go User-Agent, no Referer).
func (c *Client) apply(req *http.Request, a *attempt, h hop) {
	hd := c.policy.header(h, a.ct, a.extra)
	req.Host = h.host
	delete(hd, "Host")
	if hd.Get("User-Agent") == "" {
		hd["User-Agent"] = []string{""} // present and empty: net/http then sends none
	}
	req.Header = hd
}

// checkRedirect follows the policy's redirect rule, and gives the next
// request the policy's header for it.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	a, _ := req.Context().Value(attemptKey{}).(*attempt)
	if a == nil || req.Response == nil {
		return http.ErrUseLastResponse
	}
	next, follow, err := c.policy.next(a.first, a.cur, req.Response.StatusCode, req.Response.Header.Get("Location"), len(via))
	if err != nil {
		return err
	}
	if !follow {
		return http.ErrUseLastResponse
	}
	a.cur, a.hopConnected = next, false
	c.apply(req, a, next)
	return nil
}

// Expect is a set of acceptable answer statuses: "200", "2xx", "200,204".
type Expect struct {
	spec  string
	exact map[int]bool
	class map[int]bool
}

// ParseExpect parses a status expectation.
func ParseExpect(s string) (Expect, error) {
	e := Expect{spec: s, exact: map[int]bool{}, class: map[int]bool{}}
	for _, part := range strings.Split(s, ",") {
		part = strings.ToLower(strings.TrimSpace(part))
		switch {
		case len(part) == 3 && strings.HasSuffix(part, "xx") && part[0] >= '1' && part[0] <= '5':
			e.class[int(part[0]-'0')] = true
		default:
			n, err := strconv.Atoi(part)
			if err != nil || n < 100 || n > 599 {
				return Expect{}, fmt.Errorf("expected status %q: use a status (200), a class (2xx) or a list (200,204)", part)
			}
			e.exact[n] = true
		}
	}
	return e, nil
}

// Match reports whether status is acceptable.
func (e Expect) Match(status int) bool { return e.exact[status] || e.class[status/100] }

func (e Expect) String() string { return e.spec }
