// Package listen is livecb's receiver of callbacks: an HTTP server that
// reads every request (whatever its method, path or body), classifies and
// validates it through internal/event, writes it to the capture log before
// answering, and answers as told (or with the answer of a real receiver it
// forwards to). It reports each request through a callback and keeps counts
// for the summary and for CI expectations; it never prints.
package listen

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/valyala/fasthttp"

	"github.com/livecb/livecb/internal/capture"
	"github.com/livecb/livecb/internal/deliver"
	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/redact"
)

// Codes of the findings the listener adds to the body's own. Those about
// the request are defined with the capture record, which keeps them for
// whoever re-checks a captured body (capture.RequestFinding).
const (
	CodeBodyTooLarge    = capture.CodeBodyTooLarge
	CodeMethod          = capture.CodeMethod
	CodeContentType     = capture.CodeContentType
	CodeWrongFamilyPath = capture.CodeWrongFamilyPath
	CodeUnexpectedPath  = capture.CodeUnexpectedPath
	CodeContentEncoding = capture.CodeContentEncoding
	// About the listener's own work, not the request.
	CodeCaptureFailed event.Code = "capture_failed"
	CodeForwardFailed event.Code = "forward_failed"
	CodeForwardLoop              = capture.CodeForwardLoop
	CodeMoreFindings  event.Code = "more_findings"
)

const (
	// DefaultMaxBody is --max-body's default: 1 MiB, far above any callback.
	DefaultMaxBody = 1 << 20
	// drainLimit bounds what is read (and dropped) past MaxBody, to learn
	// the size and let the client read the 413 instead of a reset.
	drainLimit               = 64 << 20
	defaultReadHeaderTimeout = 10 * time.Second
	defaultReadTimeout       = 30 * time.Second
	defaultIdleTimeout       = 60 * time.Second
	defaultForwardTimeout    = 5 * time.Second
)

// DefaultPaths are the per-family paths of --family-paths: each family's
// Path in the event model's family table.
var DefaultPaths = event.FamilyPaths()

// Options configure a Server. The zero value of each field is a sensible
// default.
type Options struct {
	// Addr is host:port to bind; port 0 picks a free port.
	Addr string
	// Status and Body are the answer (default 200, empty).
	Status int
	Body   []byte
	// Delay waits before answering, after the request is captured.
	Delay time.Duration
	// ForwardTo passes every POST on to a real receiver, whose answer the
	// caller then gets. A URL without a path gets the request's path and
	// query appended.
	ForwardTo string
	// Forward is how callbacks are forwarded (nil: the default policy with
	// a 5 s timeout). The sender's headers go with each callback, over the
	// policy's. It cannot retry (a *deliver.SettingError): the sender
	// retries on its own, and a retried callback would reach the receiver
	// twice for one arrival.
	Forward *deliver.Policy
	// MaxBody is the largest body read (default 1 MiB); a larger one is
	// answered 413 and its first MaxBody bytes captured.
	MaxBody int64
	// Strict counts warnings as errors.
	Strict bool
	// Paths, when not empty, are the paths each family's callbacks must
	// arrive on; a callback on another family's path is an error.
	Paths map[event.Family]string
	// Capture, when not nil, receives every request before it is answered.
	Capture *capture.Writer
	// MaxConns bounds the connections served at once (default
	// DefaultMaxConns(), from the limit of open files; -1: no bound). At
	// the bound a new connection takes the place of the one idle the
	// longest; when every one is busy it is answered 503 and closed.
	MaxConns int
	// Timeouts against slow clients (defaults 10 s, 30 s, 60 s): the
	// headers have ReadHeaderTimeout from the request's first byte (or
	// from the accept), the body ReadTimeout from the end of the headers,
	// and a connection may wait IdleTimeout between requests.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	IdleTimeout       time.Duration
	// Redact masks secret-looking headers, query parameters and JSON fields
	// (internal/redact) in the capture log and in what OnRequest gets. The
	// body is checked and forwarded as received; only what is kept changes,
	// so a redacted capture no longer replays byte for byte.
	Redact bool
	// OnRequest is called for each request, after it is captured and
	// before it is answered, with the counts including it (read them during
	// the call only). Calls never overlap and come in capture order.
	OnRequest func(*Request, *Stats)
	// Render, when set, makes each request's Line: it appends to dst what
	// OnRequest will print for the request. It is called concurrently, on
	// the request's own goroutine before the request is committed, so that
	// formatting stays out of the capture's critical section (and again,
	// under it, if a failed capture changes the record).
	Render func(dst []byte, r *Request) []byte
	// Prepare, when set, is called for each request as Render is: on the
	// request's own goroutine, concurrently, before the request is
	// committed (and again, under the commit, if a failed capture changes
	// the record). What it returns is the request's Prepared in OnRequest:
	// work that does not need the request's place in the capture (its
	// Seq) is done there, outside the capture's critical section.
	Prepare func(r *Request) any
}

// Request is one request the listener received and what it made of it.
type Request struct {
	// Record is the capture record (also when nothing is saved); its Seq
	// numbers requests from 1.
	Record *capture.Record
	// Event is the decoded body, nil when it is not a JSON object (or was
	// not read: wrong method, too large).
	Event *event.Event
	// Callback is true for a POST: a callback, valid or not. Other methods
	// are shown and captured but not counted as callbacks.
	Callback bool
	// CaptureErr is set when the capture log could not be written; the
	// request was then answered 500 so that the sender retries.
	CaptureErr error
	// Line is what Options.Render made of the request (valid during
	// OnRequest only).
	Line []byte
	// Encoded is the record as capture.Encode made it for the capture log
	// (capture.AppendLine with Record.Seq makes it the line written): nil
	// without a capture log, and when the record is not what was written
	// (its encoding or its capture failed). Valid during Options.Prepare
	// and OnRequest only.
	Encoded capture.Encoded
	// Prepared is what Options.Prepare returned for the request (valid
	// during OnRequest only).
	Prepared any
	// errs and warns count Record.Findings, counted before the commit so
	// that reporting a group does nothing per finding.
	errs, warns int
}

// Valid reports whether the request is a callback without errors.
func (r *Request) Valid() bool { return r.Callback && !r.Record.Findings.HasErrors() }

// Server is a running listener.
type Server struct {
	opts    Options
	ln      *trackingListener
	srv     *fasthttp.Server
	forward *deliver.Client
	// closing is closed when Shutdown gives up waiting: requests held by
	// Delay are answered at once, and every connection is closed.
	closing   chan struct{}
	closeOnce sync.Once
	// stopWatch ends the goroutine that enforces the timeouts (http.go).
	stopWatch           chan struct{}
	watchOnce, stopOnce sync.Once

	checks chan struct{} // a token per large body being checked

	// cmu orders the capture: it numbers requests and forms the groups
	// written together (commit.go).
	cmu     sync.Mutex
	seq     uint64
	cur     *group // the group being formed
	leading bool   // a handler is writing a group
	spare   *group // a committed group whose buffers can be reused

	mu    sync.Mutex // guards stats; held while reporting a group
	stats Stats
}

// BindError is returned by Listen when the address cannot be bound.
type BindError struct {
	Addr string
	Err  error
}

func (e *BindError) Error() string {
	msg := fmt.Sprintf("cannot listen on %s: %v", e.Addr, e.Err)
	if e.InUse() {
		msg += " (another program uses this port)"
	}
	return msg
}

// InUse reports whether another program has the port.
func (e *BindError) InUse() bool {
	return errors.Is(e.Err, errAddrInUse) || errors.Is(e.Err, syscall.EADDRINUSE) || strings.Contains(e.Err.Error(), "address already in use")
}

func (e *BindError) Unwrap() error { return e.Err }

var errAddrInUse = errors.New("address already in use")

// Listen binds the address and returns a server ready to Serve: once it
// returns, connections are accepted (queued by the kernel until Serve).
func Listen(opts Options) (*Server, error) {
	if opts.Status == 0 {
		opts.Status = http.StatusOK
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.ReadHeaderTimeout <= 0 {
		opts.ReadHeaderTimeout = defaultReadHeaderTimeout
	}
	if opts.ReadTimeout <= 0 {
		opts.ReadTimeout = defaultReadTimeout
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = defaultIdleTimeout
	}
	switch {
	case opts.MaxConns == 0:
		opts.MaxConns = DefaultMaxConns()
	case opts.MaxConns < 0:
		opts.MaxConns = 0
	}
	s := &Server{opts: opts, stats: newStats(), checks: make(chan struct{}, checkSlots())}
	if opts.ForwardTo != "" {
		fwd, err := forwarder(opts)
		if err != nil {
			return nil, err
		}
		s.forward = fwd
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, &BindError{Addr: opts.Addr, Err: err}
	}
	s.ln = &trackingListener{Listener: ln, conns: map[*trackedConn]struct{}{}, max: opts.MaxConns,
		closed: make(chan struct{}), refusing: make(chan struct{}, maxRefusing)}
	s.closing = make(chan struct{})
	s.stopWatch = make(chan struct{})
	s.ln.clock.Store(time.Now().UnixNano())
	s.srv = s.newHTTPServer()
	return s, nil
}

// JoinHostPort makes a listen address (Options.Addr) of a host, an IPv6
// address with or without its brackets ([::1] or ::1), and a port.
func JoinHostPort(host string, port int) string {
	return net.JoinHostPort(unbracket(host), strconv.Itoa(port))
}

func unbracket(host string) string {
	if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' {
		return host[1 : len(host)-1]
	}
	return host
}

// IsLoopback reports whether a host to bind reaches this machine only:
// localhost, 127.0.0.0/8 or ::1 (with or without brackets, and as
// ::ffff:127.0.0.1).
func IsLoopback(host string) bool {
	host = unbracket(host)
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// Addr is the bound address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// URL is the base URL callbacks are sent to.
func (s *Server) URL() string { return AddrURL(s.ln.Addr()) }

// AddrURL is the http URL of a listening address. A wildcard host (--host
// 0.0.0.0, which Go reports as [::]) is shown as 127.0.0.1, a URL that
// reaches it from this machine, instead of one no client can open.
func AddrURL(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok && ta.IP.IsUnspecified() {
		return "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(ta.Port))
	}
	return "http://" + a.String()
}

// Serve accepts connections until Shutdown. It returns nil once Shutdown
// has begun.
func (s *Server) Serve() error {
	s.watchOnce.Do(func() {
		go s.ln.watch(s.opts.ReadHeaderTimeout, s.opts.ReadTimeout, s.opts.IdleTimeout, s.stopWatch)
	})
	return s.srv.Serve(s.ln)
}

// Shutdown stops accepting connections and waits for requests in flight to
// be captured and answered, or for ctx to end: then it answers those held
// by Delay, closes every connection and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	// Idle connections are let go meanwhile (fasthttp waits for a silent
	// new one as for a busy one).
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			s.ln.cutIdle()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	err := s.srv.ShutdownWithContext(ctx)
	close(done)
	s.ln.Close() // (already closed by fasthttp if Serve ran)
	s.stopOnce.Do(func() { close(s.stopWatch) })
	if err != nil {
		s.closeOnce.Do(func() { close(s.closing) })
		s.ln.closeAll()
	}
	return err
}

// Stats returns a copy of the counts so far.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	st := s.stats.clone()
	s.mu.Unlock()
	st.Shed, st.Refused = int(s.ln.shed.Load()), int(s.ln.refused.Load())
	return st
}

// reply is what a request is answered.
type reply struct {
	status int
	header http.Header // beyond those the server sets itself
	body   string
	close  bool // do not reuse the connection
}

func (r *reply) set(name, value string) {
	if r.header == nil {
		r.header = http.Header{}
	}
	r.header[name] = []string{value}
}

// body is what was read of a request's body.
type body struct {
	data      []byte
	size      int64 // bytes received (more than len(data) when truncated)
	truncated bool  // larger than MaxBody: data holds its first bytes
	err       error // the read failed after size bytes
}

// handle handles one request whose body was read: check, forward, capture,
// report, wait, and returns the answer.
func (s *Server) handle(in *incoming, b body, now time.Time) reply {
	// The request and its record live and die together: one allocation.
	both := &struct {
		req Request
		rec capture.Record
	}{}
	rec, req := &both.rec, &both.req
	rec.Time, rec.Remote, rec.Method = now, in.remote, in.method
	rec.SetTarget(in.target)
	rec.SetHost(in.host)
	if in.utf8 {
		rec.SetHeaderUTF8(in.header)
	} else {
		rec.SetHeader(in.header)
	}
	if len(in.trailer) > 0 {
		rec.SetTrailer(in.trailer)
	}
	req.Record, req.Callback = rec, in.method == http.MethodPost
	large := len(b.data) > largeBody
	if large {
		s.checks <- struct{}{}
	}

	// b.data is this request's own and never written again: the record's
	// body and the event's strings are it, not copies of it.
	text := unsafe.String(unsafe.SliceData(b.data), len(b.data))
	rec.Size = b.size
	rec.Truncated = b.truncated

	answer := capture.Answer{Status: s.opts.Status, Body: string(s.opts.Body)}
	var fs event.Findings
	loop := s.forward != nil && forwardedHere(in.header)
	switch {
	case loop:
		answer = capture.Answer{Status: http.StatusLoopDetected, Body: "livecb listen: forwarding loop: this listener forwarded this request itself\n"}
		fs = append(fs, event.Finding{Severity: event.Error, Code: CodeForwardLoop,
			Message: "the request carries this listener's own " + forwardedBy + " header: the forwarding URL leads back to this listener; answered 508 instead of forwarding it again"})
	case in.method != http.MethodPost:
		answer = capture.Answer{Status: http.StatusMethodNotAllowed, Body: "livecb listen: callbacks are POST requests\n"}
		fs = append(fs, event.Finding{Severity: event.Error, Code: CodeMethod,
			Message: fmt.Sprintf("%s request: callbacks are POSTs; answered 405", in.method)})
	case b.truncated:
		answer = capture.Answer{Status: http.StatusRequestEntityTooLarge,
			Body: fmt.Sprintf("livecb listen: body larger than %d bytes\n", s.opts.MaxBody)}
		fs = append(fs, event.Finding{Severity: event.Error, Code: CodeBodyTooLarge,
			Message: fmt.Sprintf("the body (%d bytes%s) is larger than the listener's limit (%d bytes): answered 413, captured its first %d bytes",
				b.size, orMore(b.size, s.opts.MaxBody), s.opts.MaxBody, len(b.data))})
	case b.err != nil:
		// The client went away or was too slow: capture what arrived.
		answer = capture.Answer{Status: http.StatusBadRequest, Body: "livecb listen: could not read the body\n"}
		fs = append(fs, event.Finding{Severity: event.Error, Code: event.CodeTruncated,
			Message: fmt.Sprintf("reading the body failed after %d bytes: %v", b.size, b.err)})
	default:
		ev, bodyFindings := event.CheckString(text, event.Options{Strict: s.opts.Strict})
		req.Event = ev
		if ev != nil {
			rec.Kind = ev.Kind
		}
		if rf := s.requestFindings(in, ev); len(rf) > 0 {
			fs = append(append(fs, rf...), bodyFindings...)
		} else {
			fs = bodyFindings // (Check's own: no copy)
		}
	}

	if req.Event != nil {
		// A decoded body is valid UTF-8 (CheckString): text as it is,
		// without SetBodyString looking at every byte again. It is one
		// JSON object, which the capture line can hold as one.
		rec.Body, rec.Encoding, rec.BodyJSON = text, "", true
	} else {
		rec.SetBodyString(text)
	}

	var fwdHeader http.Header
	var fwdBody string // the receiver's whole answer, passed on as it came
	if req.Callback && !b.truncated && b.err == nil && s.forward != nil && !loop {
		var failed string
		answer, fwdHeader, fwdBody, failed = s.forwardTo(in, b.data)
		if failed != "" {
			fs = append(fs, event.Finding{Severity: event.Warning, Code: CodeForwardFailed,
				Message: "forwarding to " + answer.Forwarded.URL + " failed: " + failed + "; answered 502"})
		}
	}
	rec.Answer = answer
	rec.Findings = boundFindings(fs)
	req.errs, req.warns = rec.Findings.Count()
	if s.opts.Redact {
		redactRecord(rec, b.data)
	}
	rec.SealKind() // (for a replay: see event.Seal)

	var line *[]byte
	if s.opts.Render != nil {
		line = lineBufs.Get().(*[]byte)
		req.Line = s.opts.Render((*line)[:0], req)
	}
	var enc capture.Encoded
	if s.opts.Capture != nil {
		// Encoded here, concurrently; commit only numbers and copies it.
		buf := encodeBufs.Get().(*[]byte)
		var err error
		if enc, err = capture.Encode(rec, *buf); err != nil {
			req.CaptureErr = err
		}
		req.Encoded = enc
		if s.opts.Prepare != nil {
			req.Prepared = s.opts.Prepare(req)
		}
		s.commit(req, enc)
		putBuf(&encodeBufs, buf, enc)
	} else {
		if s.opts.Prepare != nil {
			req.Prepared = s.opts.Prepare(req)
		}
		s.commit(req, nil)
	}
	req.Encoded, req.Prepared = nil, nil
	if line != nil {
		putBuf(&lineBufs, line, req.Line)
		req.Line = nil
	}
	if large {
		<-s.checks
	}
	if req.CaptureErr != nil {
		fwdHeader = nil
	}
	// Made before the delay, so that the request (its decoded body) is
	// not kept meanwhile.
	out := reply{status: rec.Answer.Status, body: rec.Answer.Body, header: fwdHeader,
		close: b.truncated || b.err != nil}
	if fwdHeader != nil {
		out.body = fwdBody // (the record keeps its first maxAnswerExcerpt bytes)
	}
	if fwdHeader == nil && rec.Answer.Body != "" {
		out.set("Content-Type", "text/plain; charset=utf-8")
	}
	if rec.Answer.Status == http.StatusMethodNotAllowed {
		out.set("Allow", http.MethodPost)
	}

	if s.opts.Delay > 0 {
		t := time.NewTimer(s.opts.Delay)
		select {
		case <-t.C:
		case <-s.closing:
			t.Stop()
		}
	}
	return out
}

// putBuf puts a buffer back into its pool, unless a large record grew it:
// a pool would keep such a buffer for the next small one.
func putBuf(pool *sync.Pool, buf *[]byte, used []byte) {
	if cap(used) <= maxPooled {
		*buf = used[:0]
		pool.Put(buf)
	}
}

// maxPooled is the largest buffer kept for reuse.
const maxPooled = 64 << 10

// largeBody is the size from which a body takes one of the check slots:
// checking it costs many times its size (the decoded object, its
// findings), and the CPU goes no faster for checking more at once, so at
// most checkSlots are checked together; the others wait, holding only
// their bytes. Callbacks are far smaller and never wait.
const largeBody = 64 << 10

func checkSlots() int { return max(2, runtime.GOMAXPROCS(0)) }

// encodeBufs are the buffers records are encoded into; lineBufs those
// Render writes into.
var (
	encodeBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}
	lineBufs   = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}
)

// redactRecord masks secrets in what is kept of a request (--redact).
func redactRecord(rec *capture.Record, body []byte) {
	rec.Header = redact.Header(rec.Header, redact.Stored)
	// Exact bytes of non-UTF-8 header values (and of the target) are not
	// kept either: they may be a secret's, and a redacted capture is not
	// exact anyway.
	rec.HeaderRaw = nil
	if rec.Trailer != nil {
		rec.Trailer, rec.TrailerRaw = redact.Header(rec.Trailer, redact.Stored), nil
	}
	rec.Target, rec.TargetRaw = redact.Target(rec.Target, redact.Stored), ""
	if masked, changed := redact.Body(body, redact.Stored); changed {
		rec.SetBody(masked)
	}
	// Messages and answers may quote the target (a forwarding error does).
	for i := range rec.Findings {
		rec.Findings[i].Message = redact.String(rec.Findings[i].Message, redact.Stored)
	}
	rec.Answer.Body = redact.String(rec.Answer.Body, redact.Stored)
	if f := rec.Answer.Forwarded; f != nil {
		f.URL = redact.String(f.URL, redact.Stored)
		f.Error = redact.String(f.Error, redact.Stored)
	}
	rec.Redacted = true
}

// What a record holds besides the body is bounded, whatever the request:
// at most maxFindings findings (then one that counts the rest), each
// message at most maxMessage bytes, and a forwarded answer's first
// maxAnswerExcerpt bytes.
const (
	maxFindings      = 128
	maxMessage       = 1 << 10
	maxAnswerExcerpt = 4 << 10
)

// boundFindings bounds findings as a record holds them.
func boundFindings(fs event.Findings) event.Findings {
	if len(fs) > maxFindings {
		rest := fs[maxFindings-1:]
		errs, warns := rest.Count()
		sev := event.Warning
		if errs > 0 {
			sev = event.Error
		}
		fs = append(fs[:maxFindings-1:maxFindings-1], event.Finding{Severity: sev, Code: CodeMoreFindings,
			Message: fmt.Sprintf("and %d more findings (%d errors, %d warnings), not kept", len(rest), errs, warns)})
	}
	for i := range fs {
		fs[i].Message = clip(fs[i].Message, maxMessage)
	}
	return fs
}

// clip cuts s to at most max bytes, at a rune's start, marking the cut.
func clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	const mark = "..."
	cut := max - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// forwardedBy is the header every forwarded request carries, with the
// forwarding process's forwardID: a request that comes back with it went
// round a loop.
const forwardedBy = "Livecb-Forwarded-By"

var forwardID = func() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}()

// forwardedHere reports whether this process forwarded a request with
// this header before.
func forwardedHere(h http.Header) bool {
	for _, v := range h[forwardedBy] {
		for _, id := range strings.Split(v, ",") {
			if strings.TrimSpace(id) == forwardID {
				return true
			}
		}
	}
	return false
}

func orMore(size, max int64) string {
	if size >= max+1+drainLimit {
		return " or more"
	}
	return ""
}

// readBody reads up to max bytes, then reads on (without keeping, up to
// drainLimit) to learn the size and let the client see the answer instead of
// a reset connection. declared is the Content-Length, -1 when unknown.
func readBody(r io.Reader, declared, max int64) body {
	if r == nil {
		return body{}
	}
	if declared >= 0 && declared <= max {
		// The usual case: one buffer of the declared size.
		data := make([]byte, declared)
		n, err := io.ReadFull(r, data)
		if err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		return body{data: data[:n], size: int64(n), err: err}
	}
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(r, max+1))
	if err != nil || n <= max {
		return body{data: buf.Bytes(), size: n, err: err}
	}
	rest, _ := io.Copy(io.Discard, io.LimitReader(r, drainLimit))
	return body{data: buf.Bytes()[:max], size: n + rest, truncated: true}
}

// requestFindings are the findings about how a POST arrived: its content
// type and, with per-family paths, its path.
func (s *Server) requestFindings(in *incoming, ev *event.Event) event.Findings {
	var fs event.Findings
	ct := in.contentType
	mt, err := "application/json", error(nil)
	if ct != mt { // (the usual value needs no parse)
		mt, _, err = mime.ParseMediaType(ct)
	}
	switch {
	case ct == "":
		fs = append(fs, event.Finding{Severity: event.Warning, Code: CodeContentType,
			Message: "no Content-Type header: the service sends application/json"})
	case err != nil || mt != "application/json":
		fs = append(fs, event.Finding{Severity: event.Warning, Code: CodeContentType,
			Message: fmt.Sprintf("Content-Type %q: the service sends application/json", ct)})
	}
	if ce := in.contentEncoding; ce != "" && !strings.EqualFold(ce, "identity") {
		// Not decoded on purpose: the capture keeps the exact bytes, and
		// no decompression bomb can blow up the listener's memory.
		fs = append(fs, event.Finding{Severity: event.Error, Code: CodeContentEncoding,
			Message: fmt.Sprintf("Content-Encoding %q: the service sends bodies unencoded; livecb does not decode them (captured as received)", ce)})
	}
	if len(s.opts.Paths) == 0 || ev == nil || ev.Kind == "" {
		return fs
	}
	fam := ev.Kind.Family()
	want := s.opts.Paths[fam]
	path := in.path()
	if want == "" || path == want {
		return fs
	}
	for other, p := range s.opts.Paths {
		if p == path {
			fs = append(fs, event.Finding{Severity: event.Error, Code: CodeWrongFamilyPath,
				Message: fmt.Sprintf("a %s callback (%s family) arrived on %s, the %s family's path; the service sends it to the %s URL (%s)",
					ev.Kind, fam, p, other, fam, want)})
			return fs
		}
	}
	fs = append(fs, event.Finding{Severity: event.Warning, Code: CodeUnexpectedPath,
		Message: fmt.Sprintf("a %s callback arrived on %s, which is no family's path; %s callbacks belong on %s", ev.Kind, path, fam, want)})
	return fs
}

// hopByHop are the headers that concern one connection, not the message
// (RFC 9110 §7.6.1); they are not forwarded.
var hopByHop = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length"}

func stripHopByHop(h http.Header) http.Header {
	h = h.Clone()
	for _, name := range h.Values("Connection") {
		for _, f := range strings.Split(name, ",") {
			if f = strings.TrimSpace(f); f != "" {
				h.Del(f)
			}
		}
	}
	for _, name := range hopByHop {
		h.Del(name)
	}
	return h
}

// forwarder is the client of Options.Forward for Options.ForwardTo.
func forwarder(opts Options) (*deliver.Client, error) {
	if err := deliver.CheckURL(opts.ForwardTo); err != nil {
		return nil, err
	}
	p := deliver.Policy{Timeout: defaultForwardTimeout}
	if opts.Forward != nil {
		p = *opts.Forward
		if p.Timeout == 0 {
			p.Timeout = defaultForwardTimeout
		}
	}
	if p.Retries != 0 {
		return nil, &deliver.SettingError{Setting: deliver.SettingRetries, Value: strconv.Itoa(p.Retries),
			Reason: "a forwarded callback is not retried: the sender retries on its own, and a retry would reach the receiver twice"}
	}
	if err := p.Check(); err != nil {
		return nil, err
	}
	return deliver.NewClient(p), nil
}

// forwardURL is ForwardTo, with the request's path and query when ForwardTo
// has no path of its own.
func (s *Server) forwardURL(in *incoming) string {
	u, _ := url.Parse(s.opts.ForwardTo)
	if u.Path == "" || u.Path == "/" {
		return strings.TrimSuffix(s.opts.ForwardTo, "/") + in.target
	}
	return s.opts.ForwardTo
}

// forwardTo forwards a callback and returns the answer to give, the
// receiver's headers and whole body to pass on, and, when forwarding
// failed, why in words (the record keeps the whole error).
func (s *Server) forwardTo(in *incoming, body []byte) (capture.Answer, http.Header, string, string) {
	target := s.forwardURL(in)
	h := stripHopByHop(in.header)
	h.Add(forwardedBy, forwardID) // (added to any a listener before set)
	ct := h.Get("Content-Type")
	h.Del("Content-Type")
	// Bounded by the policy's timeout: a sender that hangs up meanwhile
	// does not cut it short (fasthttp has no per-request context).
	res := s.forward.Do(context.Background(), deliver.Request{URL: target, Body: body, ContentType: ct, Header: h,
		Keep: int(s.forward.Policy().MaxResponse)}, nil)
	fw := &capture.Forward{URL: target, Status: res.Status, LatencyMS: float64(res.Latency.Microseconds()) / 1000}
	if res.Err != nil {
		fw.Error = string(res.Cause) + ": " + res.Err.Error()
		why := deliver.Explain(res.Cause, res.Err, s.forward.Policy().Timeout)
		return capture.Answer{Status: http.StatusBadGateway, Body: "livecb listen: forwarding failed: " + why + "\n", Forwarded: fw}, nil, "", why
	}
	whole := string(res.Excerpt)
	return capture.Answer{Status: res.Status, Body: clip(whole, maxAnswerExcerpt), Forwarded: fw}, stripHopByHop(res.Header), whole, ""
}

// Stats counts what arrived.
type Stats struct {
	Requests  int // every request
	Callbacks int // POSTs
	Valid     int // callbacks without errors
	Warned    int // valid callbacks with warnings
	Invalid   int // callbacks with errors
	Other     int // requests that are not POSTs
	// Kinds and Unknown count the callbacks that were saved (or with no
	// capture log, answered as told), by kind: not those whose capture
	// failed, which the sender will send again.
	Kinds   map[event.Kind]int
	Unknown int // callbacks of no known kind
	// CaptureFailed counts the requests whose record could not be written
	// to the capture log: each was answered 500 so that its sender retries.
	// They are counted in Requests, Callbacks and Invalid too (a capture
	// failure is an error of the request), not in Kinds or Unknown.
	CaptureFailed int
	// Shed counts the idle connections let go to make room for new ones
	// (Options.MaxConns), Refused the connections turned away because every
	// one of MaxConns was busy. Server.Stats fills them in; what OnRequest
	// gets does not.
	Shed, Refused int
}

// Saved is the number of callbacks kept: counted in Kinds or Unknown.
func (st Stats) Saved() int {
	n := st.Unknown
	for _, c := range st.Kinds {
		n += c
	}
	return n
}

func newStats() Stats { return Stats{Kinds: map[event.Kind]int{}} }

func (st *Stats) add(r *Request) {
	st.Requests++
	if r.CaptureErr != nil {
		st.CaptureFailed++
	}
	if !r.Callback {
		st.Other++
		return
	}
	st.Callbacks++
	switch {
	case r.CaptureErr != nil:
	case r.Record.Kind != "":
		st.Kinds[r.Record.Kind]++
	default:
		st.Unknown++
	}
	switch errs, warns := r.errs, r.warns; {
	case errs > 0:
		st.Invalid++
	case warns > 0:
		st.Valid++
		st.Warned++
	default:
		st.Valid++
	}
}

func (st Stats) clone() Stats {
	c := st
	c.Kinds = make(map[event.Kind]int, len(st.Kinds))
	for k, v := range st.Kinds {
		c.Kinds[k] = v
	}
	return c
}

// Expectation is one --expect KIND[=N]: at least N callbacks of Kind.
type Expectation struct {
	Kind event.Kind
	N    int
}

func (e Expectation) String() string { return fmt.Sprintf("%s=%d", e.Kind, e.N) }

// ParseExpectation parses KIND or KIND=N.
func ParseExpectation(s string) (Expectation, error) {
	name, num, hasN := strings.Cut(s, "=")
	k, err := event.ParseKind(name)
	if err != nil {
		return Expectation{}, err
	}
	e := Expectation{Kind: k, N: 1}
	if hasN {
		n, err := strconv.Atoi(strings.TrimSpace(num))
		if err != nil || n < 0 {
			return Expectation{}, fmt.Errorf("%q: write KIND or KIND=N with N a count (record_done=2)", s)
		}
		e.N = n
	}
	return e, nil
}

// Goal is what a CI run waits for and requires.
type Goal struct {
	// Count stops the listener after this many callbacks were saved.
	Count int
	// Expect are counts of kinds that must arrive; without Count the
	// listener stops once all hold.
	Expect []Expectation
	// FailOnInvalid fails the run when any callback has an error.
	FailOnInvalid bool
	// Timeout is how long the run may take (the caller enforces it); set,
	// it makes the run a CI run as the fields above do.
	Timeout time.Duration
}

// Active reports whether the goal asks for anything: then the run fails
// when a part of it does not hold, and when any request could not be
// saved.
func (g Goal) Active() bool {
	return g.Count > 0 || len(g.Expect) > 0 || g.FailOnInvalid || g.Timeout > 0
}

// Reached reports whether the listener can stop: Count callbacks were
// saved, or (without Count) every expectation holds. A callback whose
// capture failed does not count: it was answered 500, and its sender will
// send it again.
func (g Goal) Reached(st Stats) bool {
	if g.Count > 0 {
		return st.Saved() >= g.Count
	}
	if len(g.Expect) == 0 {
		return false
	}
	for _, e := range g.Expect {
		if st.Kinds[e.Kind] < e.N {
			return false
		}
	}
	return true
}

// Failures says which parts of an active goal do not hold, one sentence
// each; none means success.
func (g Goal) Failures(st Stats) []string {
	var out []string
	if g.Count > 0 && st.Saved() < g.Count {
		what := "callbacks"
		if g.Count == 1 {
			what = "callback"
		}
		out = append(out, fmt.Sprintf("expected %d %s, %d arrived", g.Count, what, st.Saved()))
	}
	for _, e := range g.Expect {
		if got := st.Kinds[e.Kind]; got < e.N {
			out = append(out, fmt.Sprintf("expected at least %d %s, %d arrived", e.N, e.Kind, got))
		}
	}
	if g.FailOnInvalid && st.Invalid > 0 {
		out = append(out, fmt.Sprintf("%d invalid callback(s) arrived, and invalid callbacks fail the run", st.Invalid))
	}
	if g.Active() && st.CaptureFailed > 0 {
		out = append(out, fmt.Sprintf("%d request(s) could not be written to the capture log (answered 500, not counted)", st.CaptureFailed))
	}
	return out
}
