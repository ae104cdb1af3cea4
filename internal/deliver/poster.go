package deliver

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// Poster sends many POSTs with as little work per request as it can, for
// `livecb send --count` (load mode). It is built on fasthttp's client rather
// than net/http's: on loopback, net/http's transport (a reader and a writer
// goroutine per connection, a context and a timer per request) sustained
// about 40% of wrk's rate on two cores, fasthttp's about as much as wrk (see
// bench/README.md). The headers are set up once, no request is retried, the
// answer's body is read and dropped, and at most MaxConns connections per
// host are opened, each kept alive. Proxies from the environment are not
// used: a load run talks to the receiver directly.
type Poster struct {
	opts   Options
	header [][2]string // in order, Content-Type and User-Agent first
	host   string      // a Host header override, if any

	mu      sync.Mutex
	clients map[string]*fasthttp.HostClient // by scheme://host:port
}

// NewPoster returns a Poster. opts.MaxConns bounds the connections per host
// (a sender waits for a free one instead of dialling more); Retries and
// FollowRedirects are ignored: a load run measures each answer as it is.
func NewPoster(opts Options) *Poster {
	if opts.Timeout <= 0 {
		opts.Timeout = 3 * time.Second
	}
	opts.MaxConns = max(opts.MaxConns, 1)
	p := &Poster{opts: opts, clients: map[string]*fasthttp.HostClient{}}
	h := p.Header()
	for _, k := range sortedKeys(h) {
		for _, v := range h[k] {
			if k == "Host" {
				p.host = v
				continue
			}
			p.header = append(p.header, [2]string{k, v})
		}
	}
	return p
}

// Header returns the header every request carries: Content-Type, User-Agent
// and Options.Header (Host included when set).
func (p *Poster) Header() http.Header {
	h := http.Header{"Content-Type": {"application/json"}}
	if p.opts.UserAgent != "" {
		h.Set("User-Agent", p.opts.UserAgent)
	}
	for k, vs := range p.opts.Header {
		k = http.CanonicalHeaderKey(k)
		h[k] = append([]string(nil), vs...)
	}
	return h
}

func sortedKeys(h http.Header) []string {
	keys := make([]string, 0, len(h))
	for _, k := range []string{"Content-Type", "User-Agent"} {
		if _, ok := h[k]; ok {
			keys = append(keys, k)
		}
	}
	for k := range h {
		if k != "Content-Type" && k != "User-Agent" {
			keys = append(keys, k)
		}
	}
	return keys
}

// Target is a URL to post to, parsed once.
type Target struct {
	uri string
	hc  *fasthttp.HostClient
}

// Target parses an absolute http(s) URL once, for many posts.
func (p *Poster) Target(raw string) (Target, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Target{}, errors.New(raw + " is not an absolute http(s) URL")
	}
	tls := u.Scheme == "https"
	addr := u.Host
	if u.Port() == "" {
		if tls {
			addr = net.JoinHostPort(u.Hostname(), "443")
		} else {
			addr = net.JoinHostPort(u.Hostname(), "80")
		}
	}
	key := u.Scheme + "://" + addr
	p.mu.Lock()
	defer p.mu.Unlock()
	hc := p.clients[key]
	if hc == nil {
		hc = p.hostClient(addr, tls)
		p.clients[key] = hc
	}
	return Target{uri: raw, hc: hc}, nil
}

func (p *Poster) hostClient(addr string, isTLS bool) *fasthttp.HostClient {
	dialer := &net.Dialer{Timeout: p.opts.Timeout, KeepAlive: 30 * time.Second}
	return &fasthttp.HostClient{
		Addr:  addr,
		IsTLS: isTLS,
		TLSConfig: &tls.Config{InsecureSkipVerify: p.opts.Insecure, //nolint:gosec // only with --insecure
			ServerName: hostOnly(addr)},
		Dial:                          func(a string) (net.Conn, error) { return dialer.Dial("tcp", a) },
		MaxConns:                      p.opts.MaxConns,
		MaxConnWaitTimeout:            p.opts.Timeout,
		MaxIdleConnDuration:           90 * time.Second,
		ReadTimeout:                   p.opts.Timeout,
		WriteTimeout:                  p.opts.Timeout,
		NoDefaultUserAgentHeader:      true,
		DisableHeaderNamesNormalizing: true, // the names are canonical already
		DisablePathNormalizing:        true, // the path goes as given
		MaxIdemponentCallAttempts:     1,    // no retries
		RetryIfErr:                    func(*fasthttp.Request, int, error) (bool, bool) { return false, false },
	}
}

func hostOnly(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return h
}

// Post sends body to t and returns the answer's status, or the error and
// its cause when no answer arrived. ctx is only checked before sending: a
// request under way ends with its answer or the timeout.
func (p *Poster) Post(ctx context.Context, t Target, body []byte) (status int, cause Cause, err error) {
	if err := ctx.Err(); err != nil {
		return 0, CauseOther, err
	}
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(t.uri)
	req.Header.SetMethod(http.MethodPost)
	for _, kv := range p.header {
		req.Header.Add(kv[0], kv[1])
	}
	if p.host != "" {
		req.UseHostHeader = true
		req.Header.SetHost(p.host)
	}
	req.SetBodyRaw(body)
	resp.SkipBody = false
	if err := t.hc.DoTimeout(req, resp, p.opts.Timeout); err != nil {
		return 0, classifyFast(err), err
	}
	return resp.StatusCode(), "", nil
}

func classifyFast(err error) Cause {
	switch {
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrNoFreeConns), errors.Is(err, fasthttp.ErrDialTimeout):
		return CauseTimeout
	case errors.Is(err, fasthttp.ErrConnectionClosed):
		return CauseReset
	}
	return classify(err)
}

// CloseIdle closes the kept-alive connections.
func (p *Poster) CloseIdle() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, hc := range p.clients {
		hc.CloseIdleConnections()
	}
}
