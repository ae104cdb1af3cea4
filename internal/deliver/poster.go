package deliver

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Poster sends many POSTs with as little work per request as it can: the
// headers are built once, the URL parsed once, no retries, no excerpt of
// the answer (it is read and dropped so the connection is reused), and at
// most MaxConns connections per host, each kept alive. It is the sender of
// `livecb send --count` (load mode).
type Poster struct {
	http   *http.Client
	header http.Header
	host   string // a Host header override, if any
}

// NewPoster returns a Poster. opts.MaxConns bounds the connections per host
// (a sender waits for a free one instead of dialling more); Retries and
// FollowRedirects are ignored: a load run measures each answer as it is.
func NewPoster(opts Options) *Poster {
	if opts.Timeout <= 0 {
		opts.Timeout = 3 * time.Second
	}
	conns := max(opts.MaxConns, 1)
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: opts.Timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: opts.Insecure}, //nolint:gosec // only with --insecure
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: opts.Timeout,
	}
	c := &http.Client{Transport: tr, Timeout: opts.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	h := http.Header{"Content-Type": {"application/json"}}
	if opts.UserAgent != "" {
		h.Set("User-Agent", opts.UserAgent)
	}
	p := &Poster{http: c, header: h}
	for k, vs := range opts.Header {
		if http.CanonicalHeaderKey(k) == "Host" {
			if len(vs) > 0 {
				p.host = vs[len(vs)-1]
			}
			continue
		}
		h.Del(k)
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	return p
}

// Header returns the header every request carries (do not change it).
func (p *Poster) Header() http.Header { return p.header }

// Target is a parsed URL to post to.
type Target struct{ u *url.URL }

// ParseTarget parses an absolute http(s) URL once, for many posts.
func ParseTarget(raw string) (Target, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Target{}, errors.New(raw + " is not an absolute http(s) URL")
	}
	return Target{u}, nil
}

// Post sends body to t and returns the answer's status, or the error and
// its cause when no answer arrived.
func (p *Poster) Post(ctx context.Context, t Target, body []byte) (status int, cause Cause, err error) {
	req := (&http.Request{
		Method:        http.MethodPost,
		URL:           t.u,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        p.header, // read only: net/http does not change a request's header
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Host:          p.host,
	}).WithContext(ctx)
	if p.host == "" {
		req.Host = t.u.Host
	}
	if len(body) == 0 {
		req.Body = http.NoBody // a nil-length body that is not NoBody would go chunked
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return 0, classify(err), err
	}
	// Drain (bounded) so the connection can be reused.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return resp.StatusCode, "", nil
}

// CloseIdle closes the kept-alive connections.
func (p *Poster) CloseIdle() { p.http.CloseIdleConnections() }
