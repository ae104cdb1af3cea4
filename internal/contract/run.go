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
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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
	// of one case are always sent in order.
	Concurrency int
	// VerifyCmd, when set, runs through `sh -c` after each case that got
	// the expected answers; its exit status decides the case.
	VerifyCmd     string
	VerifyTimeout time.Duration
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
}

// Verify is how the --verify-cmd ended.
type Verify struct {
	ExitCode int    `json:"exit_code"`
	Stderr   string `json:"stderr,omitempty"`
	Err      string `json:"error,omitempty"`
}

// Result is the outcome of one case.
type Result struct {
	Case    *Case
	Outcome Outcome
	// Reason says why the case failed or was skipped.
	Reason    string
	Exchanges []Exchange
	// Failed is the index in Exchanges of the request that failed, or -1.
	Failed   int
	Verify   *Verify
	Duration time.Duration
}

// DefaultTimeout bounds each attempt unless the policy says otherwise:
// about the service's own time limit.
const DefaultTimeout = 2 * time.Second

// Probe checks that every URL is a receiver URL (deliver.CheckURL: a
// *deliver.URLError otherwise) whose host accepts TCP connections (and,
// for https, completes a TLS handshake verified as p says), so that an
// unreachable receiver is reported once, before any case runs. Through a
// proxy, the proxy is what must accept connections.
func Probe(ctx context.Context, urls []string, p deliver.Policy) error {
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
			return fmt.Errorf("the receiver at %s is unreachable: %w", raw, err)
		}
		if handshake {
			tc := tls.Client(conn, &tls.Config{ServerName: u.Hostname(), InsecureSkipVerify: p.Insecure}) //nolint:gosec // only when the policy says so
			tc.SetDeadline(time.Now().Add(timeout))
			err = tc.HandshakeContext(ctx)
			if err != nil {
				conn.Close()
				return fmt.Errorf("the receiver at %s is unreachable: TLS: %w", raw, err)
			}
		}
		conn.Close()
	}
	return nil
}

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

// Run runs the cases and returns their results in the cases' order.
// onResult, when not nil, is called as each case ends (from one goroutine
// at a time).
func Run(ctx context.Context, cases []Case, opts Options, onResult func(Result)) []Result {
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
	client := deliver.NewClient(opts.Policy)

	results := make([]Result, len(cases))
	var mu sync.Mutex
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < opts.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				r := runCase(ctx, client, &cases[i], opts)
				mu.Lock()
				results[i] = r
				if onResult != nil {
					onResult(r)
				}
				mu.Unlock()
			}
		}()
	}
	for i := range cases {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return results
}

func runCase(ctx context.Context, client *deliver.Client, c *Case, opts Options) Result {
	start := time.Now()
	res := Result{Case: c, Outcome: Pass, Failed: -1}
	defer func() { res.Duration = time.Since(start) }()

	expect := client.Policy().Expect
	if c.Negative {
		expect = opts.NegativeExpect
	}
	urls := make([]string, len(c.Callbacks))
	for i, cb := range c.Callbacks {
		u, err := opts.Target(c.Stream.Domain, family(cb))
		if err != nil {
			res.Outcome, res.Reason = Skip, err.Error()
			res.Duration = time.Since(start)
			return res
		}
		urls[i] = u
	}
	for i, cb := range c.Callbacks {
		ct := cb.ContentType
		if ct == "" {
			ct = "application/json"
		}
		r := client.Do(ctx, deliver.Request{URL: urls[i], Body: cb.Body, ContentType: ct}, nil)
		ex := Exchange{Kind: cb.Kind, URL: urls[i], ContentType: ct, Body: cb.Body, Status: r.Status,
			Answer: r.Excerpt, Latency: r.Latency, Cause: r.Cause}
		if r.Err != nil {
			ex.Err = r.Err.Error()
		}
		res.Exchanges = append(res.Exchanges, ex)
		if reason := check(c, i, ex, expect, client.Policy().Timeout); reason != "" {
			res.Outcome, res.Reason, res.Failed = Fail, reason, i
			res.Duration = time.Since(start)
			return res
		}
	}
	if opts.VerifyCmd != "" {
		v := verify(ctx, c, opts)
		res.Verify = &v
		if v.ExitCode != 0 || v.Err != "" {
			res.Outcome = Fail
			res.Reason = fmt.Sprintf("--verify-cmd failed (exit %d): the receiver answered as expected but did not do what it should", v.ExitCode)
			if v.Err != "" {
				res.Reason = "--verify-cmd could not run: " + v.Err
			}
			if s := strings.TrimSpace(v.Stderr); s != "" {
				res.Reason += ": " + excerpt([]byte(s), 300)
			}
		}
	}
	res.Duration = time.Since(start)
	return res
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

func verify(ctx context.Context, c *Case, opts Options) Verify {
	dir, err := os.MkdirTemp("", "livecb-verify-")
	if err != nil {
		return Verify{ExitCode: -1, Err: err.Error()}
	}
	defer os.RemoveAll(dir)
	last := c.Callbacks[len(c.Callbacks)-1]
	bodyFile := filepath.Join(dir, "body.json")
	if err := os.WriteFile(bodyFile, last.Body, 0o600); err != nil {
		return Verify{ExitCode: -1, Err: err.Error()}
	}
	kinds := make([]string, len(c.Callbacks))
	for i, k := range c.Kinds() {
		kinds[i] = string(k)
	}
	vctx, cancel := context.WithTimeout(ctx, opts.VerifyTimeout)
	defer cancel()
	cmd := exec.CommandContext(vctx, "sh", "-c", opts.VerifyCmd)
	cmd.Env = append(os.Environ(),
		"LIVECB_CASE="+c.Name,
		"LIVECB_KIND="+string(last.Kind),
		"LIVECB_KINDS="+strings.Join(kinds, ","),
		"LIVECB_CALLBACKS="+strconv.Itoa(len(c.Callbacks)),
		"LIVECB_DOMAIN="+c.Stream.Domain,
		"LIVECB_APP="+c.Stream.App,
		"LIVECB_STREAM="+c.Stream.Name,
		"LIVECB_BODY_FILE="+bodyFile,
	)
	if c.TaskExternalID != "" {
		cmd.Env = append(cmd.Env, "LIVECB_TASK_EXTERNAL_ID="+c.TaskExternalID)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	v := Verify{Stderr: excerpt(stderr.Bytes(), 1000)}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && vctx.Err() == nil:
		v.ExitCode = exit.ExitCode()
	case vctx.Err() != nil:
		v.ExitCode, v.Err = -1, fmt.Sprintf("did not finish within %s", opts.VerifyTimeout)
	default:
		v.ExitCode, v.Err = -1, err.Error()
	}
	return v
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
