// Package deliver POSTs callback bodies to receivers the way the live-video
// service does, and reports how each receiver answered: status, latency, the
// first part of the body, and for failures the network cause (refused, DNS,
// timeout, TLS). send, replay, the contract suite and the listener's
// forwarding all deliver through it.
package deliver

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Options configure a Client.
type Options struct {
	// Timeout bounds each attempt, from connecting to reading the answer.
	Timeout time.Duration
	// Retries is how many more attempts follow a connection error or a 5xx.
	Retries int
	// Backoff is the wait before the first retry; it doubles each time.
	Backoff time.Duration
	// Insecure skips TLS certificate verification.
	Insecure bool
	// FollowRedirects follows redirects to other hosts too; redirects on the
	// same host are always followed (as the service's HTTP client would).
	FollowRedirects bool
	// UserAgent is sent unless Header sets one.
	UserAgent string
	// Header is added to every request (after Content-Type and User-Agent,
	// so it can override them).
	Header http.Header
	// MaxConns bounds idle keep-alive connections per host (load mode).
	MaxConns int
}

// Client delivers callbacks. It is safe for concurrent use and keeps
// connections alive between requests.
type Client struct {
	opts Options
	http *http.Client
}

// ExcerptSize is how much of an answer's body a Result keeps.
const ExcerptSize = 512

// New returns a Client.
func New(opts Options) *Client {
	if opts.Timeout <= 0 {
		opts.Timeout = 3 * time.Second
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 200 * time.Millisecond
	}
	maxConns := max(opts.MaxConns, 16)
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: opts.Timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: opts.Insecure}, //nolint:gosec // only with --insecure
		MaxIdleConns:        maxConns,
		MaxIdleConnsPerHost: maxConns,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: opts.Timeout,
	}
	c := &http.Client{Transport: tr, Timeout: opts.Timeout}
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		if !opts.FollowRedirects && req.URL.Host != via[0].URL.Host {
			return fmt.Errorf("redirect to another host (%s) not followed: pass --follow-redirects to allow it", req.URL.Host)
		}
		return nil
	}
	return &Client{opts: opts, http: c}
}

// Request is one callback to deliver.
type Request struct {
	URL         string
	Body        []byte
	ContentType string      // default application/json
	Header      http.Header // per request, over the client's
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
	URL      string
	Status   int
	Header   http.Header
	Excerpt  []byte // the first ExcerptSize bytes of the answer's body
	Latency  time.Duration
	Err      error // nil when an HTTP answer arrived, whatever its status
	Cause    Cause // set with Err
	Attempts []Attempt
}

// Cause classifies a failure to get an answer.
type Cause string

const (
	CauseRefused  Cause = "connection refused"
	CauseDNS      Cause = "DNS lookup failed"
	CauseTimeout  Cause = "timeout"
	CauseTLS      Cause = "TLS"
	CauseReset    Cause = "connection reset"
	CauseRedirect Cause = "redirect refused"
	CauseURL      Cause = "bad URL"
	CauseOther    Cause = "network error"
)

// Do delivers r, retrying connection errors and 5xx answers. onAttempt, when
// not nil, is called after each attempt (to report retries as they happen).
func (c *Client) Do(ctx context.Context, r Request, onAttempt func(n int, a Attempt)) Result {
	res := Result{URL: r.URL}
	u, err := url.Parse(r.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		res.Err = fmt.Errorf("%q is not an absolute http(s) URL", r.URL)
		res.Cause = CauseURL
		return res
	}
	wait := c.opts.Backoff
	var attempts []Attempt
	for n := 0; ; n++ {
		res = c.once(ctx, r)
		a := Attempt{Status: res.Status, Latency: res.Latency}
		if res.Err != nil {
			a.Err, a.Cause = res.Err.Error(), res.Cause
		}
		attempts = append(attempts, a)
		res.Attempts = attempts
		if onAttempt != nil {
			onAttempt(n+1, a)
		}
		retryable := (res.Err != nil && res.Cause != CauseURL && res.Cause != CauseRedirect) || res.Status >= 500
		if !retryable || n >= c.opts.Retries || ctx.Err() != nil {
			return res
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return res
		}
		wait *= 2
	}
}

func (c *Client) once(ctx context.Context, r Request) Result {
	res := Result{URL: r.URL}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		res.Err, res.Cause = err, CauseURL
		return res
	}
	ct := r.ContentType
	if ct == "" {
		ct = "application/json"
	}
	req.Header.Set("Content-Type", ct)
	if c.opts.UserAgent != "" {
		req.Header.Set("User-Agent", c.opts.UserAgent)
	}
	for _, h := range []http.Header{c.opts.Header, r.Header} {
		for k, vs := range h {
			req.Header.Del(k)
			for _, v := range vs {
				if strings.EqualFold(k, "Host") {
					req.Host = v
					continue
				}
				req.Header.Add(k, v)
			}
		}
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		res.Latency = time.Since(start)
		res.Err, res.Cause = err, classify(err)
		return res
	}
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, ExcerptSize))
	// Drain (bounded) so the connection can be reused.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	res.Latency = time.Since(start)
	res.Status = resp.StatusCode
	res.Header = resp.Header
	res.Excerpt = excerpt
	return res
}

func classify(err error) Cause {
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var recordErr tls.RecordHeaderError
	var netErr net.Error
	switch {
	case strings.Contains(err.Error(), "redirect to another host"):
		return CauseRedirect
	case errors.As(err, &dnsErr):
		return CauseDNS
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr), errors.As(err, &recordErr),
		// https:// to a plain HTTP receiver; net/http has no typed error for it.
		strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return CauseTLS
	case errors.Is(err, syscall.ECONNREFUSED):
		return CauseRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return CauseReset
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return CauseTimeout
	}
	return CauseOther
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
