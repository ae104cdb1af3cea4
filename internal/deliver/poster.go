package deliver

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// Poster sends many POSTs with as little work per request as it can, for
// load mode. It is built on fasthttp's client rather than net/http's: on
// loopback, net/http's transport (a reader and a writer goroutine per
// connection, a context and a timer per request) sustained about 40% of
// wrk's rate on two cores, fasthttp's about as much as wrk (see
// bench/README.md).
//
// It honours the same Policy as the Client, with the same results: the
// same header in the same order and nothing else, the same URL rule, the
// timeout over the whole answer, the same redirects, TLS settings, answer
// bounds and expectation. fasthttp writes the request; the answer is read
// by this package's own round trip (transport), which bounds the head,
// streams the body through a fixed buffer (no announced Content-Length is
// ever allocated) and refuses what net/http refuses and fasthttp's parser
// lets through (Content-Length given twice with different values, a
// chunked body cut short). Two settings it cannot honour are refused:
// retries (a load run measures each answer as it came) and proxies.
//
// Post sends a body to a Target checked once (load mode: one URL, one
// header for every request); Do sends a Request with its own URL, content
// type and header (replay: each record's).
type Poster struct {
	policy   Policy
	maxConns int

	mu      sync.Mutex
	clients map[string]*fasthttp.HostClient // by scheme://host:port

	tmu     sync.Mutex
	targets map[targetKey]*cachedTarget // Do's, at most maxTargets

	// cuts holds, by fasthttp request, the *cut of each request Do sends,
	// for the round trip to end the exchange when the context ends.
	cuts sync.Map
}

type targetKey struct{ url, ct string }

type cachedTarget struct {
	t   Target
	err error
}

// A cut ends the exchange under way on a connection when a context ends:
// a request under way then stops as the Client's does.
type cut struct {
	mu    sync.Mutex
	conn  net.Conn // the exchange's, nil between exchanges
	ended bool     // the context ended
	stop  func() bool
}

// newCut makes a cut for ctx, which must have a Done channel.
func newCut(ctx context.Context) *cut {
	c := &cut{}
	c.stop = context.AfterFunc(ctx, c.fire)
	return c
}

func (c *cut) fire() {
	c.mu.Lock()
	c.ended = true
	if c.conn != nil {
		c.conn.SetDeadline(longAgo) //nolint:errcheck // ends what is under way
	}
	c.mu.Unlock()
}

// begin watches conn for an exchange; false when the context has ended.
func (c *cut) begin(conn net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conn = conn
	return !c.ended
}

// end stops watching, and reports whether the context ended meanwhile (the
// connection may be cut: not to be reused).
func (c *cut) end() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conn = nil
	return c.ended
}

// maxTargets bounds the targets Do keeps checked: a replay with
// --preserve-path may send every record to a URL of its own.
const maxTargets = 1024

// NewPoster returns a Poster for p that opens at most maxConns connections
// per host (a sender waits for a free one, within the timeout, instead of
// dialling more).
func NewPoster(p Policy, maxConns int) (*Poster, error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	if p.Retries > 0 {
		return nil, &SettingError{SettingRetries, strconv.Itoa(p.Retries), "load mode measures each answer as it came: it does not retry"}
	}
	return &Poster{policy: p.withDefaults(), maxConns: max(maxConns, 1), clients: map[string]*fasthttp.HostClient{},
		targets: map[targetKey]*cachedTarget{}}, nil
}

// Policy returns the poster's policy, defaults filled in.
func (p *Poster) Policy() Policy { return p.policy }

// Header returns the header every request carries (Host only when the
// policy overrides it), for writing the requests out for other tools.
func (p *Poster) Header() http.Header {
	h := p.policy.firstHop(&url.URL{}, nil)
	return p.policy.header(h, "application/json", nil)
}

// Target is a URL to post to, checked once, with the content type and
// header of its requests.
type Target struct {
	raw   string
	uri   string // scheme://host and the request target as net/http writes it
	first hop
	ct    string      // Content-Type
	extra http.Header // the requests' own header, over the policy's
	wire  wire
	hc    *fasthttp.HostClient
}

// TLS reports whether requests to t go over https.
func (t *Target) TLS() bool { return t.hc.IsTLS }

// Target checks a receiver URL once, for many posts of JSON bodies:
// CheckURL's rule, and no proxy for it (a *SettingError).
func (p *Poster) Target(raw string) (Target, error) { return p.target(raw, "application/json", nil) }

func (p *Poster) target(raw, ct string, extra http.Header) (Target, error) {
	u, err := parseURL(raw)
	if err != nil {
		return Target{}, err
	}
	hc, err := p.hostClient(u)
	if err != nil {
		return Target{}, err
	}
	h := p.policy.firstHop(u, extra)
	return Target{raw: raw, uri: wireURI(u), first: h, ct: ct, extra: extra, wire: wireOf(p.policy.header(h, ct, extra), u), hc: hc}, nil
}

// TargetFor is the Target of requests to url with content type ct ("":
// application/json), checked once per URL and content type (the same
// *Target each time): a replay's Jobs.
func (p *Poster) TargetFor(url, ct string) (*Target, error) {
	if ct == "" {
		ct = "application/json"
	}
	return p.cachedTarget(url, ct)
}

// cachedTarget is target for a request without a header of its own,
// checked once per URL and content type (the same *Target each time, so
// that a Sender knows its request is built for it).
func (p *Poster) cachedTarget(raw, ct string) (*Target, error) {
	key := targetKey{raw, ct}
	p.tmu.Lock()
	c, ok := p.targets[key]
	p.tmu.Unlock()
	if ok {
		return &c.t, c.err
	}
	t, err := p.target(raw, ct, nil)
	c = &cachedTarget{t, err}
	p.tmu.Lock()
	if len(p.targets) >= maxTargets {
		clear(p.targets)
	}
	p.targets[key] = c
	p.tmu.Unlock()
	return &c.t, c.err
}

func wireURI(u *url.URL) string { return u.Scheme + "://" + u.Host + u.RequestURI() }

// hostClient returns the client for u's scheme and host, after checking
// that no proxy is configured for it.
func (p *Poster) hostClient(u *url.URL) (*fasthttp.HostClient, error) {
	if p.policy.Proxy != nil {
		pu, err := p.policy.Proxy(&http.Request{Method: http.MethodPost, URL: u, Host: u.Host, Header: http.Header{}})
		if err != nil {
			return nil, &SettingError{Setting: SettingProxy, Reason: err.Error()}
		}
		if pu != nil {
			return nil, &SettingError{SettingProxy, pu.Redacted(),
				"load mode connects to " + u.Host + " directly and cannot go through a proxy: exempt the host from the proxy"}
		}
	}
	isTLS := u.Scheme == "https"
	port := u.Port()
	if port == "" {
		port = "80"
		if isTLS {
			port = "443"
		}
	}
	addr := net.JoinHostPort(u.Hostname(), port)
	key := u.Scheme + "://" + addr
	p.mu.Lock()
	defer p.mu.Unlock()
	if hc := p.clients[key]; hc != nil {
		return hc, nil
	}
	hc := &fasthttp.HostClient{
		Addr:                          addr,
		IsTLS:                         isTLS,
		DialTimeout:                   p.dial(isTLS, u.Hostname()),
		MaxConns:                      p.maxConns,
		MaxConnWaitTimeout:            p.policy.Timeout,
		MaxIdleConnDuration:           90 * time.Second,
		NoDefaultUserAgentHeader:      true,
		DisableHeaderNamesNormalizing: true, // the names are canonical already
		DisablePathNormalizing:        true, // the target goes as net/http writes it
		MaxIdemponentCallAttempts:     1,    // no retries
		RetryIfErr:                    func(*fasthttp.Request, int, error) (bool, bool) { return false, false },
		Transport:                     transport{limit: p.policy.MaxResponse, cuts: &p.cuts},
	}
	p.clients[key] = hc
	return hc, nil
}

// dial connects, and shakes hands for https, within the time left.
func (p *Poster) dial(isTLS bool, serverName string) fasthttp.DialFuncWithTimeout {
	return func(addr string, timeout time.Duration) (net.Conn, error) {
		if timeout <= 0 {
			timeout = p.policy.Timeout
		}
		return p.dialContext(context.Background(), isTLS, serverName, addr, time.Now().Add(timeout))
	}
}

// dialContext connects to addr by deadline (and shakes hands for https),
// unless ctx ends first: the one way the Poster's connections are made.
func (p *Poster) dialContext(ctx context.Context, isTLS bool, serverName, addr string, deadline time.Time) (net.Conn, error) {
	conn, err := (&net.Dialer{Deadline: deadline, KeepAlive: 30 * time.Second}).DialContext(ctx, "tcp", addr)
	if err != nil || !isTLS {
		return conn, err
	}
	tc := tls.Client(conn, &tls.Config{ServerName: serverName, InsecureSkipVerify: p.policy.Insecure}) //nolint:gosec // only when the policy says so
	if err := tc.SetDeadline(deadline); err != nil {
		conn.Close()
		return nil, err
	}
	if err := tc.Handshake(); err != nil {
		conn.Close()
		return nil, err
	}
	return tc, tc.SetDeadline(time.Time{})
}

// Post sends body to t, following redirects as the policy says, and
// returns how the receiver answered (without the answer's header and
// body, which are read and dropped). ctx is only checked before sending:
// a request under way ends with its answer or the timeout.
func (p *Poster) Post(ctx context.Context, t Target, body []byte) Result {
	return p.post(ctx, &t, body, false, nil)
}

// A Sender posts as Post does, for one goroutine at a time, keeping its
// request between posts: built once for a target, it then changes only
// its body and Content-Length (load mode's senders each hold one; building
// the request and parsing its URI was 6% of a sender's CPU).
type Sender struct {
	p      *Poster
	req    *fasthttp.Request
	resp   *fasthttp.Response
	built  *Target // the target whose first request req holds, or nil
	digits [20]byte
	// cut watches cutCtx, the context Do was last given (none for Post).
	cut    *cut
	cutCtx context.Context
}

// NewSender returns a Sender for p; Close releases it.
func (p *Poster) NewSender() *Sender {
	return &Sender{p: p, req: fasthttp.AcquireRequest(), resp: fasthttp.AcquireResponse()}
}

// Post is Poster.Post of body to *t, which must not change while the
// Sender is used with it.
func (s *Sender) Post(ctx context.Context, t *Target, body []byte) Result {
	return s.p.post(ctx, t, body, false, s)
}

// Close releases the Sender's request; it must not be used after.
func (s *Sender) Close() {
	s.uncut()
	fasthttp.ReleaseRequest(s.req)
	fasthttp.ReleaseResponse(s.resp)
	s.req, s.resp, s.built = nil, nil, nil
}

// Do delivers r as Client.Do does under a policy without retries (which
// NewPoster refuses): the same request on the wire, with r's own URL,
// content type and header, and the same Result but for the answer's header
// and excerpt, which are read and dropped. Unlike Post, it ends a request
// under way when ctx ends, as the Client does. A URL the Poster cannot
// reach directly (a proxy is configured for it) fails with a
// *SettingError before anything is sent.
func (p *Poster) Do(ctx context.Context, r Request) Result { return p.do(ctx, r, nil) }

// Do is Poster.Do through the Sender's request (its context watched for
// as long as it is the one given: a replay's workers give theirs).
func (s *Sender) Do(ctx context.Context, r Request) Result {
	s.watch(ctx)
	return s.p.do(ctx, r, s)
}

// watch makes ctx end the Sender's requests under way (the same ctx is
// watched once for many requests).
func (s *Sender) watch(ctx context.Context) {
	switch {
	case ctx.Done() == nil:
		s.uncut()
	case s.cutCtx != ctx:
		s.uncut()
		s.cut, s.cutCtx = newCut(ctx), ctx
		s.p.cuts.Store(s.req, s.cut)
	}
}

// uncut stops watching the Sender's context.
func (s *Sender) uncut() {
	if s.cut != nil {
		s.cut.stop()
		s.p.cuts.Delete(s.req)
		s.cut, s.cutCtx = nil, nil
	}
}

func (p *Poster) do(ctx context.Context, r Request, s *Sender) Result {
	ct := r.ContentType
	if ct == "" {
		ct = "application/json"
	}
	var t *Target
	var err error
	if r.Header == nil {
		t, err = p.cachedTarget(r.URL, ct)
	} else {
		var own Target
		own, err = p.target(r.URL, ct, r.Header)
		t = &own
	}
	if err != nil {
		cause := CauseURL
		if _, ok := err.(*SettingError); ok {
			cause = CauseSetting
		}
		return Result{URL: r.URL, Err: err, Cause: cause}
	}
	res := p.post(ctx, t, r.Body, true, s)
	a := Attempt{Status: res.Status, Latency: res.Latency}
	if res.Err != nil {
		a.Err, a.Cause = res.Err.Error(), res.Cause
	}
	res.Attempts = []Attempt{a}
	return res
}

// post is Post; cancel makes ctx end a request under way (a Sender's own
// cut does, when it has one); s, when set, lends its request.
func (p *Poster) post(ctx context.Context, t *Target, body []byte, cancel bool, s *Sender) Result {
	res := Result{URL: t.raw}
	if err := ctx.Err(); err != nil {
		res.Err, res.Cause = err, classify(err, stageConnect)
		return res
	}
	var req *fasthttp.Request
	var resp *fasthttp.Response
	if s != nil {
		req, resp = s.req, s.resp
	} else {
		req, resp = fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
	}
	if cancel && s == nil && ctx.Done() != nil {
		c := newCut(ctx)
		p.cuts.Store(req, c)
		defer func() {
			c.stop()
			p.cuts.Delete(req)
		}()
	}
	start := time.Now()
	p.hops(ctx, &res, req, resp, t, body, cancel, s, t.first, 1, start.Add(p.policy.Timeout))
	res.Latency = time.Since(start)
	return res
}

// redirected goes on with an attempt whose first answer, to a request of
// the Pump's event loop, redirected it to next: the rest of the attempt as
// post makes it, within the attempt's deadline, ended when ctx ends.
func (p *Poster) redirected(ctx context.Context, t *Target, body []byte, next hop, deadline time.Time) Result {
	res := Result{URL: t.raw, connected: true}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	if ctx.Done() != nil {
		c := newCut(ctx)
		p.cuts.Store(req, c)
		defer func() {
			c.stop()
			p.cuts.Delete(req)
		}()
	}
	p.hops(ctx, &res, req, resp, t, body, true, nil, next, 2, deadline)
	return res
}

// hops makes the requests of one attempt to t, from cur, its n-th (from
// 1), following redirects as the policy says, until an answer stands or
// one fails, and fills in res (all but Latency).
func (p *Poster) hops(ctx context.Context, res *Result, req *fasthttp.Request, resp *fasthttp.Response, t *Target, body []byte,
	cancel bool, s *Sender, cur hop, n int, deadline time.Time) {
	uri, w, hc := t.uri, t.wire, t.hc
	if n > 1 {
		var err error
		if hc, err = p.hostClient(cur.url); err != nil {
			res.Err, res.Cause = err, classify(err, stageHead)
			return
		}
		uri, w = wireURI(cur.url), wireOf(p.policy.header(cur, t.ct, t.extra), cur.url)
		req.Reset()
		if s != nil {
			s.built = nil
		}
	}
	for ; ; n++ {
		switch {
		case s == nil:
			build(req, uri, w, cur.body, body, nil)
		case n == 1 && s.built == t:
			// The same request but for the body and its length.
			req.Header.SetBytesV("Content-Length", strconv.AppendInt(s.digits[:0], int64(len(body)), 10))
			req.SetBodyRaw(body)
		default:
			req.Reset()
			build(req, uri, w, cur.body, body, &s.digits)
			s.built = nil
			if n == 1 {
				s.built = t
			}
		}
		err := hc.DoDeadline(req, resp, deadline)
		if err != nil {
			st := stageConnect
			var se *stageError
			if errors.As(err, &se) {
				st, err = se.stage, se.err
			}
			if st > stageConnect {
				res.connected = true
			}
			if st == stageBody {
				res.Status = resp.StatusCode()
			}
			if cerr := ctx.Err(); cancel && cerr != nil {
				err = cerr // (what cut it short, as the Client reports it)
			}
			res.Err, res.Cause = err, classify(err, st)
			return
		}
		res.connected = true
		res.Status = resp.StatusCode()
		next, follow, err := p.policy.next(t.first, cur, res.Status, string(resp.Header.Peek("Location")), n)
		if err == nil && follow {
			hc, err = p.hostClient(next.url)
		}
		if err != nil {
			res.Err, res.Cause = err, classify(err, stageHead)
			return
		}
		if !follow {
			res.Matched = p.policy.Expect.Match(res.Status)
			return
		}
		cur, uri, w = next, wireURI(next.url), wireOf(p.policy.header(next, t.ct, t.extra), next.url)
		req.Reset()
		if s != nil {
			s.built = nil
		}
	}
}

// settle is what an answer with status to the first request of an
// attempt to t comes to, as hops decides it: the Result (but for its
// latency), or the request to follow it with.
func (p *Poster) settle(t *Target, status int, h *fasthttp.ResponseHeader) (res Result, next hop, follow bool) {
	res = Result{URL: t.raw, Status: status, connected: true}
	switch status {
	case 301, 302, 303, 307, 308:
		var err error
		next, follow, err = p.policy.next(t.first, t.first, status, string(h.Peek("Location")), 1)
		if err == nil && follow {
			return res, next, true
		}
		if err != nil {
			res.Err, res.Cause = err, classify(err, stageHead)
			return res, hop{}, false
		}
	}
	res.Matched = p.policy.Expect.Match(status)
	return res, hop{}, false
}

// digitPool holds the scratch space of a Content-Length (fasthttp keeps
// a copy; a local array would escape, one allocation per request).
var digitPool = sync.Pool{New: func() any { return new([20]byte) }}

// build writes the request exactly as the Client's is written: fasthttp's
// own headers are off, so that what leaves is the wire header and
// Content-Length, in net/http's order, and nothing else. digits, when
// set, is the scratch space of the Content-Length (else one is borrowed).
func build(req *fasthttp.Request, uri string, w wire, withBody bool, body []byte, digits *[20]byte) {
	req.Header.DisableSpecialHeader()
	req.UseHostHeader = true
	req.SetRequestURI(uri)
	req.Header.Add("Host", w.host)
	if w.ua != "" {
		req.Header.Add("User-Agent", w.ua)
	}
	if withBody {
		req.Header.SetMethod(http.MethodPost)
		d := digits
		if d == nil {
			d = digitPool.Get().(*[20]byte)
		}
		req.Header.AddBytesV("Content-Length", strconv.AppendInt(d[:0], int64(len(body)), 10))
		if digits == nil {
			digitPool.Put(d)
		}
		req.SetBodyRaw(body)
	} else {
		req.Header.SetMethod(http.MethodGet)
	}
	for _, kv := range w.rest {
		req.Header.Add(kv[0], kv[1])
	}
}

// CloseIdle closes the kept-alive connections.
func (p *Poster) CloseIdle() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, hc := range p.clients {
		hc.CloseIdleConnections()
	}
}

// transport is the Poster's round trip: fasthttp's connection pool and
// request writer, and an answer reader bounded in size and time.
type transport struct {
	limit int64
	cuts  *sync.Map // the Poster's: a request's *cut, when it has one
}

// longAgo is a deadline that has passed: set on a connection, it ends the
// read or write under way.
var longAgo = time.Unix(1, 0)

func (t transport) RoundTrip(hc *fasthttp.HostClient, req *fasthttp.Request, resp *fasthttp.Response) (bool, error) {
	timeout := req.GetTimeOut()
	deadline := time.Now().Add(timeout)
	cc, err := hc.AcquireConn(timeout, false)
	if err != nil {
		return false, &stageError{stageConnect, err}
	}
	conn := cc.Conn()
	// One deadline for writing the request and reading the whole answer.
	if err := conn.SetDeadline(deadline); err != nil {
		hc.CloseConn(cc)
		return false, &stageError{stageHead, err}
	}
	// A request's context, when it has one, cuts the exchange short when
	// it ends; a connection it may have cut is not reused.
	var c *cut
	if v, ok := t.cuts.Load(req); ok {
		if c = v.(*cut); !c.begin(conn) {
			c.end()
			hc.ReleaseConn(cc) // (unused)
			return false, &stageError{stageConnect, context.Canceled}
		}
	}
	ended := func() bool { return c != nil && c.end() }
	bw := hc.AcquireWriter(conn)
	err = req.Write(bw)
	if err == nil {
		err = bw.Flush()
	}
	hc.ReleaseWriter(bw)
	if err != nil {
		ended()
		hc.CloseConn(cc)
		return false, &stageError{stageHead, err}
	}
	r := acquireReader(conn)
	st, err := readAnswer(r, resp, t.limit)
	// Bytes beyond the answer would be read as the next one's: not reused.
	reuse := err == nil && !resp.ConnectionClose() && r.br.Buffered() == 0
	if ended() {
		reuse = false
	}
	releaseReader(r)
	if reuse {
		hc.ReleaseConn(cc)
	} else {
		hc.CloseConn(cc)
	}
	if err != nil {
		return false, &stageError{st, err}
	}
	return false, nil
}

// reader is a bounded buffer over a connection (or what arrived of it)
// that remembers whether the connection ended, to tell a chunked body cut
// short from a complete one (fasthttp's stream reports both as io.EOF).
type reader struct {
	src io.Reader
	eof bool
	br  *bufio.Reader
}

func (r *reader) Read(p []byte) (int, error) {
	n, err := r.src.Read(p)
	if err == io.EOF {
		r.eof = true
	}
	return n, err
}

var readers = sync.Pool{New: func() any { return newReader() }}

func newReader() *reader {
	r := &reader{}
	r.br = bufio.NewReaderSize(r, MaxHeaderBytes)
	return r
}

func acquireReader(src io.Reader) *reader {
	r := readers.Get().(*reader)
	r.reset(src)
	return r
}

func (r *reader) reset(src io.Reader) {
	r.src, r.eof = src, false
	r.br.Reset(r)
}

func releaseReader(r *reader) {
	r.reset(nil)
	readers.Put(r)
}

// smallBody is the largest body fasthttp reads whole into the response's
// pooled buffer; a longer one is streamed.
const smallBody = 4096

// readAnswer reads an answer's head and body, and reports how far it got.
func readAnswer(r *reader, resp *fasthttp.Response, limit int64) (stage, error) {
	for informational := 0; ; informational++ {
		if err := checkHead(r.br); err != nil {
			return stageHead, err
		}
		if err := resp.Header.Read(r.br); err != nil {
			return stageHead, err
		}
		code := resp.Header.StatusCode()
		if code < 100 || code > 199 || code == http.StatusSwitchingProtocols {
			break
		}
		if informational == 5 {
			return stageHead, errors.New("too many 1xx informational answers")
		}
	}
	switch code := resp.Header.StatusCode(); {
	case code < 200, code == http.StatusNoContent, code == http.StatusNotModified:
		return stageBody, nil // no body
	}
	cl := resp.Header.ContentLength() // -1 chunked, -2 until the connection closes
	announced := int64(cl)
	if cl < 0 {
		announced = -1
	}
	if announced > limit {
		return stageBody, &TooLargeError{Announced: announced, Limit: limit}
	}
	if cl >= 0 && cl <= smallBody {
		// Read whole into the response's pooled buffer (fasthttp checks
		// the length).
		resp.StreamBody = false
		return stageBody, resp.ReadBody(r.br, smallBody)
	}
	resp.StreamBody = true
	if err := resp.ReadBody(r.br, smallBody); err != nil {
		return stageBody, err
	}
	_, err := readBody(resp.BodyStream(), announced, limit, 0)
	resp.CloseBodyStream() //nolint:errcheck // a stream of this package's reader has nothing to close
	if err == nil && cl == -1 && r.eof {
		err = io.ErrUnexpectedEOF // the connection ended before the last chunk
	}
	if err != nil {
		return stageBody, err
	}
	return stageBody, nil
}

// checkHead waits until br holds the whole head of the next answer (up to
// its empty line, within MaxHeaderBytes) and refuses what fasthttp's parser
// accepts and net/http's does not.
func checkHead(br *bufio.Reader) error {
	from, n := 0, 1
	for {
		_, err := br.Peek(n) // waits for at least n bytes
		b, _ := br.Peek(br.Buffered())
		if end := headEnd(b, from); end >= 0 {
			return checkLengths(b[:end])
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			return &TooLargeError{Head: true, Announced: -1, Limit: MaxHeaderBytes}
		}
		if err != nil {
			return err
		}
		from, n = max(len(b)-2, 0), len(b)+1
	}
}

// headEnd returns the length of the head in b (through its empty line),
// looking from from on, or -1.
func headEnd(b []byte, from int) int {
	for i := from; i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		if i+1 < len(b) && b[i+1] == '\n' {
			return i + 2
		}
		if i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n' {
			return i + 3
		}
	}
	return -1
}

var contentLength = []byte("content-length:")

// checkLengths refuses a head that gives Content-Length more than once
// with different values (RFC 9112 §6.3: the framing is then unknowable;
// fasthttp takes the last).
func checkLengths(head []byte) error {
	var first []byte
	for len(head) > 0 {
		line := head
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			line, head = head[:i+1], head[i+1:]
		} else {
			head = nil
		}
		if len(line) < len(contentLength) || line[0]|0x20 != 'c' || !bytes.EqualFold(line[:len(contentLength)], contentLength) {
			continue
		}
		v := bytes.TrimSpace(line[len(contentLength):])
		if first == nil {
			first = v
		} else if !bytes.Equal(first, v) {
			return fmt.Errorf("the answer gives Content-Length twice, %q and %q", first, v)
		}
	}
	return nil
}
