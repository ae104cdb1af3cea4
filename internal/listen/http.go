package listen

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/livecb/livecb/internal/term"
	"github.com/valyala/fasthttp"
)

// The HTTP side of the listener runs on fasthttp's server, not net/http's.
// Under wrk, net/http's per-request machinery (a background read and a
// goroutine hand-off per request, a header map built and then copied) cost
// about as much CPU as all that livecb does with a callback, and held
// `listen --save` at 0.57 of a bare net/http sink (bench/README.md). fasthttp
// serves each connection on one goroutine and reuses its buffers. Two things
// are done here rather than left to it, so that nothing a sender sent is
// lost or changed:
//   - the header block is read from the exact bytes that arrived
//     (parseHeader), giving the http.Header that net/http would have built:
//     every value of a repeated header, names canonical, Host and the
//     framing headers apart (header_test.go compares both on raw requests);
//   - the body is read as a stream, so that a body above --max-body still
//     reaches the handler, is answered 413 and has its first bytes captured
//     (fasthttp would refuse it with an answer of its own).

// maxHeaderBytes caps the request line and headers; above, the answer is
// 431 and nothing is captured. fasthttp's limit is its read buffer, which
// every connection holds: 16 KiB (twice nginx's default for a header line)
// keeps 500 connections to about 10 MB, where 64 KiB (net/http's limit,
// which livecb had before) made them 40 MB, times the collector's headroom.
const maxHeaderBytes = 16 << 10

// incoming is one request as read off the wire, before livecb looks at it.
type incoming struct {
	method string
	target string // the request-target as received (path and query)
	remote string
	head
	// trailer holds the trailer fields of a chunked body.
	trailer http.Header
	// contentLength is the declared length, -1 when unknown (chunked).
	contentLength int64
}

// path is the target's path, decoded, as net/http's URL.Path.
func (in *incoming) path() string {
	u, err := url.ParseRequestURI(in.target)
	if err != nil {
		p, _, _ := strings.Cut(in.target, "?")
		return p
	}
	return u.Path
}

func (s *Server) newHTTPServer() *fasthttp.Server {
	return &fasthttp.Server{
		Handler:      s.serve,
		ErrorHandler: refuse,
		// No ReadTimeout or IdleTimeout: the listener's watch (below)
		// enforces them, without the three read deadlines fasthttp would
		// set on every request.
		ReadBufferSize: maxHeaderBytes,
		// Every body reaches the handler as a stream that readBody bounds:
		// fasthttp reads a body below its limit before the handler, and
		// one that stalls would be refused without being captured. Above
		// the limit (1 byte), it reads only the first byte ahead.
		MaxRequestBodySize:            1,
		StreamRequestBody:             true,
		DisablePreParseMultipartForm:  true, // a body is bytes to keep, never a form to parse
		DisableHeaderNamesNormalizing: true, // parseHeader canonicalizes, as net/http does
		NoDefaultServerHeader:         true,
		NoDefaultContentType:          true,
		CloseOnShutdown:               true,
		Logger:                        quiet{},
	}
}

// quiet drops fasthttp's log lines (a malformed request, a client gone):
// each is answered or counted where it happens, and a listener under abuse
// must not flood the terminal.
type quiet struct{}

func (quiet) Printf(string, ...any) {}

// refuse answers a request fasthttp could not read, before any handler:
// it is not a request livecb can capture (no complete header block).
func refuse(ctx *fasthttp.RequestCtx, err error) {
	var small *fasthttp.ErrSmallBuffer
	var ne net.Error
	switch {
	case errors.As(err, &small):
		ctx.Error("livecb listen: request line and headers larger than 16 KiB\n", fasthttp.StatusRequestHeaderFieldsTooLarge)
	case errors.As(err, &ne) && ne.Timeout():
		ctx.Error("livecb listen: the request did not arrive in time\n", fasthttp.StatusRequestTimeout)
	case strings.Contains(err.Error(), "too many host headers"):
		// RFC 9112 §3.2: exactly one Host; net/http refuses it too, so a
		// Go receiver would never see such a request.
		ctx.Error("livecb listen: more than one Host header: a request has exactly one\n", fasthttp.StatusBadRequest)
	default:
		// fasthttp's message ends with the bytes it read: never echo them.
		msg, _, _ := strings.Cut(err.Error(), ": buffer size=")
		ctx.Error("livecb listen: malformed HTTP request: "+term.Sanitize(msg)+"\n", fasthttp.StatusBadRequest)
	}
}

// serve is fasthttp's handler: the request as read, handled, answered.
func (s *Server) serve(ctx *fasthttp.RequestCtx) {
	tc := ctx.Conn().(*trackedConn) // (every connection comes through s.ln)
	h := &ctx.Request.Header
	in := &incoming{
		method:        methodString(h.Method()),
		target:        string(h.RequestURI()),
		remote:        tc.remote,
		head:          parseHeader(h.RawHeaders(), h.ContentLength() == -1),
		contentLength: int64(h.ContentLength()), // -1: chunked
	}
	if in.contentLength == -2 { // neither Content-Length nor chunked: no body
		in.contentLength = 0
	}
	if !strings.HasPrefix(in.target, "/") {
		// An absolute-form target names the host itself (RFC 9112 §3.2.2).
		if u, err := url.ParseRequestURI(in.target); err == nil && u.Host != "" {
			in.host = u.Host
		}
	}
	tc.enterBody()
	b := readBody(ctx.RequestBodyStream(), in.contentLength, s.opts.MaxBody)
	if in.contentLength == -1 && b.err == nil {
		in.trailer = trailerOf(h)
	}
	tc.enter(phaseBusy)
	out := s.handle(in, b, ctx.Time())
	tc.enter(phaseIdle)

	r := &ctx.Response
	r.SetStatusCode(out.status)
	for k, vs := range out.header {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	if out.close {
		// The rest of the body was not read: do not reuse the connection.
		ctx.SetConnectionClose()
		tc.linger.Store(true)
	}
	r.SetBodyString(out.body)
}

// trailerOf returns the trailer fields of a chunked body, which fasthttp
// keeps apart from the header once the body was read (it refuses the
// fields a trailer may not hold: Host, Content-Length...), every value of a
// repeated field, names canonical, values as received.
func trailerOf(h *fasthttp.RequestHeader) http.Header {
	var t http.Header
	for _, line := range strings.Split(string(h.TrailerHeader()), "\r\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		if t == nil {
			t = http.Header{}
		}
		key := textproto.CanonicalMIMEHeaderKey(textproto.TrimString(name))
		t[key] = append(t[key], textproto.TrimString(value))
	}
	return t
}

// methodString is string(m) without an allocation for a POST.
func methodString(m []byte) string {
	if string(m) == http.MethodPost {
		return http.MethodPost
	}
	return string(m)
}

// parseHeader reads a request's header block (the lines after the request
// line, as received) into the http.Header net/http's server would build,
// and returns the Host header apart, as net/http does. The block has been
// checked by fasthttp: lines end in CRLF, names are tokens. Values
// are trimmed and folded lines joined with a space, as net/textproto does;
// the framing header net/http removes is removed too: Transfer-Encoding,
// and Content-Length when the body came chunked (the capture keeps it
// unchunked). Unlike net/http, a Pragma: no-cache gains no Cache-Control,
// and the Trailer header of a chunked body stays (net/http moves it to the
// request's Trailer): the capture keeps what the sender sent. A request
// with more than one Host, which net/http refuses, has all of them in the
// header too.
//
// It also returns the first Content-Type and Content-Encoding apart, which
// every request's findings look at (requestFindings), and whether the
// block is valid UTF-8, checked once for all its values.
func parseHeader(raw []byte, chunked bool) head {
	// One string for the whole block and one slice for all values: the
	// values are substrings and one-element windows of them, so a request's
	// header costs three allocations (with the map), whatever its size.
	block := string(raw)
	values := make([]string, 0, 8)
	h := make(http.Header, 8)
	hd := head{header: h, utf8: utf8.Valid(raw)}
	var haveHost bool
	// As textproto: each line is trimmed, a folded line (starting with a
	// space or tab) is joined to the one before with one space, and the
	// value is what follows the colon, spaces before it dropped.
	var kv string
	for {
		line := block
		if i := strings.IndexByte(block, '\n'); i >= 0 {
			line, block = block[:i], block[i+1:]
		} else {
			block = ""
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') && kv != "" {
			kv += " " + textproto.TrimString(line)
			continue
		}
		if kv != "" {
			// The previous line is whole: add it.
			if i := strings.IndexByte(kv, ':'); i >= 0 {
				// As textproto: the value's left is trimmed, not its right
				// (kv's lines are trimmed: only a blank folded line leaves
				// a space there).
				key, value := canonicalKey(kv[:i]), strings.TrimLeft(kv[i+1:], " \t")
				switch {
				case key == "Host":
					// (fasthttp refuses a second Host before any handler.)
					if !haveHost {
						hd.host, haveHost = value, true
					}
				case key == "Transfer-Encoding", chunked && key == "Content-Length":
					// Framing, dropped as net/http drops it.
				default:
					if vs, dup := h[key]; dup {
						h[key] = append(vs, value)
					} else {
						values = append(values, value)
						h[key] = values[len(values)-1 : len(values) : len(values)]
						switch key {
						case "Content-Type":
							hd.contentType = value
						case "Content-Encoding":
							hd.contentEncoding = value
						}
					}
				}
			}
		}
		if len(line) == 0 {
			break
		}
		kv = textproto.TrimString(line)
	}
	return hd
}

// head is a request's header block as parseHeader reads it.
type head struct {
	header http.Header // (with Host only when there was more than one)
	host   string
	// contentType and contentEncoding are the first values of these
	// fields, "" when there is none.
	contentType, contentEncoding string
	// utf8: the block is valid UTF-8, so no value of header needs its raw
	// bytes kept (capture.Record.SetHeaderUTF8).
	utf8 bool
}

// canonicalKey is textproto.CanonicalMIMEHeaderKey(k), without its work
// when k is canonical already, as senders write nearly every name: that
// work (a look in a table of common names among it) was 3% of the
// listener's instructions per request (FuzzCanonicalKey holds it to
// textproto).
func canonicalKey(k string) string {
	upper := true
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case 'A' <= c && c <= 'Z':
			if !upper {
				return textproto.CanonicalMIMEHeaderKey(k)
			}
		case 'a' <= c && c <= 'z':
			if upper {
				return textproto.CanonicalMIMEHeaderKey(k)
			}
		case c == '-' || '0' <= c && c <= '9':
		default:
			return textproto.CanonicalMIMEHeaderKey(k)
		}
		upper = c == '-'
	}
	if len(k) == 0 {
		return textproto.CanonicalMIMEHeaderKey(k)
	}
	return k
}

// trackingListener knows the connections it accepted, so that Shutdown can
// close them when requests outlive its deadline (fasthttp's shutdown only
// waits, and closes none that are busy), and so that watch can cut off slow
// clients.
type trackingListener struct {
	net.Listener
	mu    sync.Mutex
	conns map[*trackedConn]struct{}
	// clock is the time (Unix nanoseconds) as of watch's last tick: the
	// connections stamp their phases with it, which costs no clock read.
	clock atomic.Int64

	// What Accept needs (conns.go).
	max           int           // connections served at once (0: no limit)
	closed        chan struct{} // closed by Close
	closeOnce     sync.Once
	refusing      chan struct{} // a token per refusal under way
	shed, refused atomic.Int64
}

// A connection's phase decides which timeout applies to it.
const (
	phaseNew    int32 = iota // accepted, nothing read yet (ReadHeaderTimeout)
	phaseHeader              // a request's line and headers are arriving (ReadHeaderTimeout)
	phaseBody                // its body is being read (ReadTimeout)
	phaseBusy                // it is being handled: nothing is read
	phaseIdle                // between requests (IdleTimeout)
	phaseCut                 // timed out or shed: its reads fail
)

// Timeouts are enforced by one goroutine that looks at every connection a
// few times per shortest timeout, instead of a read deadline set (and
// its clock read) three times per request: the deadline calls were about
// 3% of the listener's CPU under load. A connection past its phase's limit
// gets a read deadline in the past, so that the read under way fails as a
// deadline would make it fail: a stalled body is captured and answered
// 400, stalled headers get fasthttp's 408, an idle connection is closed.
// The limits are met within one tick (a tenth of the shortest timeout, at
// most a second).

// watch enforces the timeouts until stop is closed.
func (l *trackingListener) watch(header, body, idle time.Duration, stop <-chan struct{}) {
	tick := min(header, body, idle) / 10
	tick = max(5*time.Millisecond, min(tick, time.Second))
	t := time.NewTicker(tick)
	defer t.Stop()
	limits := [...]int64{phaseNew: int64(header), phaseHeader: int64(header), phaseBody: int64(body), phaseIdle: int64(idle)}
	var late []*trackedConn
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			l.clock.Store(now.UnixNano())
			late = late[:0]
			l.mu.Lock()
			for c := range l.conns {
				switch ph := c.phase.Load(); ph {
				case phaseNew, phaseHeader, phaseBody, phaseIdle:
					if now.UnixNano()-c.since.Load() > limits[ph] && c.phase.CompareAndSwap(ph, phaseCut) {
						late = append(late, c)
					}
				}
			}
			l.mu.Unlock()
			for _, c := range late {
				c.Conn.SetReadDeadline(time.Unix(1, 0))
			}
		}
	}
}

type trackedConn struct {
	net.Conn
	ln     *trackingListener
	remote string // RemoteAddr().String()
	once   sync.Once
	// linger is set when the answer was sent before the body was read to
	// its end (413, a broken body): closing then waits for the sender to
	// read it (see Close).
	linger atomic.Bool
	phase  atomic.Int32
	since  atomic.Int64 // when the phase began (the listener's clock)
	// tail is the last bytes read while headers arrived (at most 3), to
	// see the blank line that ends them across two reads.
	tail    [3]byte
	tailLen int
}

// enter starts a phase.
func (c *trackedConn) enter(ph int32) {
	c.since.Store(c.ln.clock.Load())
	c.phase.Store(ph)
}

// enterBody starts the body's phase, unless Read saw the headers end
// already: the body's time runs from there. (fasthttp reads the first
// byte of a body before the handler runs.)
func (c *trackedConn) enterBody() {
	if c.phase.Load() != phaseBody {
		c.enter(phaseBody)
	}
}

// Read follows a request's phases as its bytes arrive: the first bytes
// after an idle time start its headers' time, and the blank line that ends
// the headers starts its body's, so that a body has its whole timeout
// from the end of the headers, whenever the handler starts reading it.
func (c *trackedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n == 0 {
		return n, err
	}
	// (Compare-and-swap: a connection cut meanwhile stays cut.)
	switch c.phase.Load() {
	case phaseIdle:
		c.tailLen = 0
		c.since.Store(c.ln.clock.Load())
		if !c.phase.CompareAndSwap(phaseIdle, phaseHeader) {
			return n, err
		}
	case phaseNew:
		// (The headers' time runs from the accept.)
		if !c.phase.CompareAndSwap(phaseNew, phaseHeader) {
			return n, err
		}
	case phaseHeader:
	default:
		return n, err
	}
	if c.headersEnd(p[:n]) {
		c.since.Store(c.ln.clock.Load())
		c.phase.CompareAndSwap(phaseHeader, phaseBody)
	}
	return n, err
}

var blankLine = []byte("\r\n\r\n")

// headersEnd reports whether b, read after the bytes before it, holds the
// blank line that ends a request's headers.
func (c *trackedConn) headersEnd(b []byte) bool {
	if c.tailLen > 0 {
		var seam [6]byte
		k := copy(seam[:], c.tail[:c.tailLen])
		k += copy(seam[k:], b[:min(len(b), 3)])
		if bytes.Contains(seam[:k], blankLine) {
			return true
		}
	}
	if bytes.Contains(b, blankLine) {
		return true
	}
	// Keep the last 3 bytes of what was read so far.
	if len(b) >= 3 {
		c.tailLen = copy(c.tail[:], b[len(b)-3:])
	} else {
		all := append(c.tail[:c.tailLen:c.tailLen], b...)
		c.tailLen = copy(c.tail[:], all[max(0, len(all)-3):])
	}
	return false
}

// lingerTime bounds how long Close waits for a sender that is still
// sending a body nobody reads (net/http waits 500 ms likewise).
const lingerTime = 500 * time.Millisecond

// Close closes the connection. After an answer sent before the body's end,
// closing at once would reset the connection (the kernel answers unread
// data with RST) and the sender, still writing, would likely lose the
// answer: so the writing side is shut first and what still arrives is
// read and dropped, until the sender stops or lingerTime passes.
func (c *trackedConn) Close() error {
	c.phase.Store(phaseCut) // not watched any more
	if c.linger.Swap(false) {
		if tc, ok := c.Conn.(*net.TCPConn); ok {
			tc.CloseWrite()
			tc.SetReadDeadline(time.Now().Add(lingerTime))
			io.Copy(io.Discard, io.LimitReader(tc, drainLimit))
		}
	}
	c.once.Do(func() {
		c.ln.mu.Lock()
		delete(c.ln.conns, c)
		c.ln.mu.Unlock()
	})
	return c.Conn.Close()
}

// closeAll closes every connection still open.
func (l *trackingListener) closeAll() {
	l.mu.Lock()
	conns := make([]*trackedConn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		c.linger.Store(false)
		c.Close()
	}
}
