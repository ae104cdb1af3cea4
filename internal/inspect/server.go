package inspect

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/livecb/livecb/internal/deliver"
	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/jsonx"
	"github.com/livecb/livecb/internal/listen"
	"github.com/livecb/livecb/internal/term"
)

// DefaultAddr is where the inspector listens unless told otherwise.
const DefaultAddr = "127.0.0.1:4040"

// TokenHeader carries the per-run token every state-changing request must
// present: a page of another site cannot read it (it is in the inspector's
// own page), so it cannot make the browser send it.
const TokenHeader = "X-Livecb-Token"

// Bounds of the inspector's own HTTP server.
const (
	maxPostBytes   = 8 << 20 // an edited body of the listener's largest, JSON-escaped
	maxHeaderBytes = 16 << 10
	// DefaultMaxSSE is how many pages may follow the live list at once.
	DefaultMaxSSE = 16
	// DefaultResendTimeout bounds a resend, from connecting to the answer.
	DefaultResendTimeout = 5 * time.Second
	maxResends           = 8 // resends under way at once
	sseHeartbeat         = 15 * time.Second
	// sseCoalesce is the shortest time between two notices to a page: a
	// listener under load adds requests far faster than a page redraws.
	sseCoalesce = 150 * time.Millisecond
	maxPageRows = 500
	maxStreams  = 2000
)

// The server's timeouts against slow clients, as the listener's (variables
// so that a test can shorten them).
var (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 60 * time.Second
)

// ServerOptions configure the inspector's HTTP server.
type ServerOptions struct {
	// Addr is host:port to bind (default DefaultAddr); port 0 picks one.
	Addr string
	// ForwardTo is where a resend goes unless the user types a URL.
	ForwardTo string
	// Strict judges edited bodies with every warning as an error.
	Strict bool
	// Title is shown at the top of the pages ("listening on ...").
	Title string
	// ResendTimeout bounds each resend (default DefaultResendTimeout);
	// MaxSSE the pages following the live list (default DefaultMaxSSE).
	ResendTimeout time.Duration
	MaxSSE        int
	// Token is the per-run token (default: 128 random bits).
	Token string
	// Proxy is the proxy of a resend (nil: direct), from the caller's
	// environment as every sender's is.
	Proxy func(*http.Request) (*url.URL, error)
}

// BindError is returned by NewServer when the address cannot be bound.
type BindError struct {
	Addr string
	Err  error
}

func (e *BindError) Error() string {
	return fmt.Sprintf("the inspector cannot listen on %s: %v", e.Addr, e.Err)
}

func (e *BindError) Unwrap() error { return e.Err }

// Server serves an inspector's pages and API.
type Server struct {
	in     *Inspector
	opts   ServerOptions
	ln     net.Listener
	srv    *http.Server
	resend resender
	slots  chan struct{} // resends under way

	mu      sync.Mutex
	clients map[chan struct{}]struct{}
	nsse    atomic.Int32
	stop    chan struct{}
	stopped sync.Once
}

// NewServer binds the address; Serve then serves.
func NewServer(in *Inspector, opts ServerOptions) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = DefaultAddr
	}
	if opts.ResendTimeout <= 0 {
		opts.ResendTimeout = DefaultResendTimeout
	}
	if opts.MaxSSE <= 0 {
		opts.MaxSSE = DefaultMaxSSE
	}
	if opts.Token == "" {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		opts.Token = hex.EncodeToString(b[:])
	}
	if opts.ForwardTo != "" {
		if err := deliver.CheckURL(opts.ForwardTo); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, &BindError{Addr: opts.Addr, Err: err}
	}
	s := &Server{in: in, opts: opts, ln: ln, resend: newResender(opts.ResendTimeout, opts.Proxy),
		slots: make(chan struct{}, maxResends), clients: map[chan struct{}]struct{}{}, stop: make(chan struct{})}
	s.srv = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout, // the event stream extends its own
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		// Refused connections and broken requests are the client's
		// business: the inspector prints nothing on the listener's terminal.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go s.broadcast()
	return s, nil
}

// URL is the address of the pages.
func (s *Server) URL() string { return listen.AddrURL(s.ln.Addr()) + "/" }

// Token is the run's token (the pages carry it).
func (s *Server) Token() string { return s.opts.Token }

// Serve serves until Shutdown; it returns nil then.
func (s *Server) Serve() error {
	err := s.srv.Serve(s.ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown ends the event streams, then waits for the other requests or
// for ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopped.Do(func() { close(s.stop) })
	err := s.srv.Shutdown(ctx)
	s.ln.Close()
	return err
}

// broadcast tells every page following the list that requests were added,
// at most once per sseCoalesce.
func (s *Server) broadcast() {
	for {
		select {
		case <-s.stop:
			return
		case <-s.in.changed:
		}
		s.mu.Lock()
		for c := range s.clients {
			select {
			case c <- struct{}{}:
			default:
			}
		}
		s.mu.Unlock()
		t := time.NewTimer(sseCoalesce)
		select {
		case <-s.stop:
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// csp is the pages' Content-Security-Policy: their own script and style
// only, no inline script, no eval, no frames, no forms, no plugins.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Handler is the inspector's HTTP handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.index)
	mux.HandleFunc("GET /app.js", asset("app.js", "text/javascript; charset=utf-8"))
	mux.HandleFunc("GET /app.css", asset("app.css", "text/css; charset=utf-8"))
	mux.HandleFunc("GET /api/info", s.info)
	mux.HandleFunc("GET /api/requests", s.requests)
	mux.HandleFunc("GET /api/requests/{id}", s.request)
	mux.HandleFunc("GET /api/streams", s.streams)
	mux.HandleFunc("GET /api/timeline", s.timeline)
	mux.HandleFunc("GET /api/events", s.events)
	mux.HandleFunc("POST /api/check", s.guard(s.check))
	mux.HandleFunc("POST /api/resend", s.guard(s.resendOne))
	return s.secure(mux)
}

// secure sets the headers every answer carries and refuses requests that
// do not come from the inspector's own pages at its own address.
func (s *Server) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		if !hostAllowed(r.Host) {
			// A name that is not this machine's: DNS rebinding, or a
			// proxy. Pages are served only at an address.
			refuse(w, fmt.Sprintf("the inspector answers only at an IP address or localhost, not %q: open %s", r.Host, s.URL()))
			return
		}
		if strings.HasPrefix(r.URL.Path, "/api/") {
			switch r.Header.Get("Sec-Fetch-Site") {
			case "", "same-origin", "none":
			default:
				refuse(w, "cross-site request refused")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// hostAllowed reports whether a Host header names the inspector by
// address: an IP literal or localhost, with any port.
func hostAllowed(host string) bool {
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		h = host
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	return h == "localhost" || net.ParseIP(h) != nil
}

func refuse(w http.ResponseWriter, why string) {
	http.Error(w, "livecb inspector: "+why, http.StatusForbidden)
}

// guard protects a state-changing endpoint: the run's token in its header,
// a same-origin Origin and Sec-Fetch-Site when the browser sends them, a
// JSON body of bounded size.
func (s *Server) guard(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if tok := r.Header.Get(TokenHeader); subtle.ConstantTimeCompare([]byte(tok), []byte(s.opts.Token)) != 1 {
			refuse(w, "missing or wrong "+TokenHeader+": requests must come from the inspector's own page")
			return
		}
		if o := r.Header.Get("Origin"); o != "" && o != "http://"+r.Host {
			refuse(w, fmt.Sprintf("request from another origin (%q) refused", o))
			return
		}
		if sf := r.Header.Get("Sec-Fetch-Site"); sf != "" && sf != "same-origin" {
			refuse(w, "cross-site request refused")
			return
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			http.Error(w, "livecb inspector: send JSON (Content-Type: application/json)", http.StatusUnsupportedMediaType)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxPostBytes)
		next(w, r)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := jsonx.Marshal(v)
	if err != nil {
		http.Error(w, "livecb inspector: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}

type apiError struct {
	Error string `json:"error"`
}

func fail(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, apiError{Error: msg})
}

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	io.WriteString(w, indexPage(s.opts.Token))
}

// Info is what the pages learn about the run.
type Info struct {
	Mode      string   `json:"mode"` // "live", "files" or "report"
	Title     string   `json:"title"`
	Files     []string `json:"files,omitempty"`
	ForwardTo string   `json:"forwardTo,omitempty"`
	Total     int64    `json:"total"`
	Kinds     []string `json:"kinds"`
	Verdicts  []string `json:"verdicts"`
	Masked    bool     `json:"masked,omitempty"`
}

func (s *Server) infoValue() Info {
	inf := Info{Mode: "files", Title: term.Sanitize(s.opts.Title), ForwardTo: term.Sanitize(s.opts.ForwardTo),
		Total: s.in.Len(), Kinds: event.KindNames(), Verdicts: verdictNames[1:]}
	if s.in.live {
		inf.Mode = "live"
	}
	for _, f := range s.in.files {
		if f != "" {
			inf.Files = append(inf.Files, term.Sanitize(f))
		}
	}
	return inf
}

func (s *Server) info(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.infoValue())
}

// filterOf reads a Filter from a query: kind, verdict, stream, q.
func filterOf(q url.Values) (Filter, error) {
	f := Filter{Kind: q.Get("kind"), Text: q.Get("q")}
	if v := q.Get("verdict"); v != "" {
		vd, ok := ParseVerdict(v)
		if !ok {
			return f, fmt.Errorf("verdict %q: use one of %s", v, strings.Join(verdictNames[1:], ", "))
		}
		f.Verdict = vd
	}
	if st := q.Get("stream"); st != "" {
		k, ok := ParseStreamKey(st)
		if !ok {
			return f, fmt.Errorf("stream %q: write publishDomain/appName/streamName", st)
		}
		f.Stream = &k
	}
	return f, nil
}

func (s *Server) requests(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := filterOf(q)
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	before := int64(-1)
	if b := q.Get("before"); b != "" {
		if before, err = strconv.ParseInt(b, 10, 64); err != nil {
			fail(w, http.StatusBadRequest, "before: a request id")
			return
		}
	}
	limit := 100
	if l := q.Get("limit"); l != "" {
		if limit, err = strconv.Atoi(l); err != nil || limit < 1 {
			fail(w, http.StatusBadRequest, "limit: a positive number")
			return
		}
	}
	writeJSON(w, http.StatusOK, s.in.ix.Query(f, before, min(limit, maxPageRows), s.in.files))
}

func (s *Server) request(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		fail(w, http.StatusBadRequest, "a request id is a number")
		return
	}
	d, err := s.in.Detail(id, s.opts.ForwardTo)
	var nh *NotHeldError
	switch {
	case errors.As(err, &nh):
		fail(w, http.StatusNotFound, err.Error())
	case err != nil:
		fail(w, http.StatusInternalServerError, err.Error())
	default:
		writeJSON(w, http.StatusOK, d)
	}
}

func (s *Server) streams(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.in.ix.Streams(maxStreams))
}

func (s *Server) timeline(w http.ResponseWriter, r *http.Request) {
	k, ok := ParseStreamKey(r.URL.Query().Get("stream"))
	if !ok {
		fail(w, http.StatusBadRequest, "stream: write publishDomain/appName/streamName")
		return
	}
	tl, found := s.in.Timeline(k)
	if !found {
		fail(w, http.StatusNotFound, "no request about stream "+term.Sanitize(k.String()))
		return
	}
	writeJSON(w, http.StatusOK, tl)
}

// events is the live list's event stream: a "changed" event with the
// number of requests whenever some were added.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	if int(s.nsse.Add(1)) > s.opts.MaxSSE {
		s.nsse.Add(-1)
		http.Error(w, "livecb inspector: too many pages follow the list; close one", http.StatusServiceUnavailable)
		return
	}
	defer s.nsse.Add(-1)
	c := make(chan struct{}, 1)
	s.mu.Lock()
	s.clients[c] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.clients, c)
		s.mu.Unlock()
	}()
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	send := func(msg string) bool {
		rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := io.WriteString(w, msg); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	total := func() string {
		return "event: changed\ndata: {\"total\":" + strconv.FormatInt(s.in.Len(), 10) + "}\n\n"
	}
	if !send("retry: 2000\n\n" + total()) {
		return
	}
	beat := time.NewTicker(sseHeartbeat)
	defer beat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.stop:
			return
		case <-beat.C:
			if !send(": keep-alive\n\n") {
				return
			}
		case <-c:
			if !send(total()) {
				return
			}
		}
	}
}

// bodyRequest is what check and resend take: a body typed in the page.
type bodyRequest struct {
	ID   *int64  `json:"id"`
	URL  string  `json:"url"`
	Body *string `json:"body"`
}

func readBody(w http.ResponseWriter, r *http.Request) (bodyRequest, bool) {
	var req bodyRequest
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&req); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request is larger than %d bytes", maxPostBytes))
		} else {
			fail(w, http.StatusBadRequest, "not a JSON request: "+err.Error())
		}
		return req, false
	}
	return req, true
}

// CheckResult is what the editor shows while a body is typed.
type CheckResult struct {
	Kind     string     `json:"kind"`
	Valid    bool       `json:"valid"`
	Findings []Mark     `json:"findings"`
	Pretty   []BodyLine `json:"pretty,omitempty"`
}

// checkBody validates a body as the listener would (event.Check).
func checkBody(body []byte, strict bool) CheckResult {
	ev, fs := event.Check(body, event.Options{Strict: strict})
	res := CheckResult{Valid: !fs.HasErrors(), Findings: []Mark{}}
	if ev != nil {
		res.Kind = string(ev.Kind)
	}
	res.Pretty, _ = prettyLines(body)
	res.Findings = shownMarks(placeFindings(fs, res.Pretty, 0, func(event.Code) bool { return false }))
	return res
}

func (s *Server) check(w http.ResponseWriter, r *http.Request) {
	req, ok := readBody(w, r)
	if !ok {
		return
	}
	if req.Body == nil {
		fail(w, http.StatusBadRequest, `give the body to check as "body"`)
		return
	}
	writeJSON(w, http.StatusOK, checkBody([]byte(*req.Body), s.opts.Strict))
}

// ResendResult is how the receiver answered a resend.
type ResendResult struct {
	URL       string       `json:"url"`
	Sent      int          `json:"sent"` // body bytes
	Edited    bool         `json:"edited"`
	Status    int          `json:"status,omitempty"`
	LatencyMS float64      `json:"latencyMs"`
	Headers   []HeaderLine `json:"headers,omitempty"`
	Answer    string       `json:"answer,omitempty"` // the start of the answer's body, escaped
	Error     string       `json:"error,omitempty"`
	Cause     string       `json:"cause,omitempty"`
	Check     CheckResult  `json:"check"`
}

func (s *Server) resendOne(w http.ResponseWriter, r *http.Request) {
	req, ok := readBody(w, r)
	if !ok {
		return
	}
	if req.ID == nil {
		fail(w, http.StatusBadRequest, `say which request to resend ("id")`)
		return
	}
	e := s.in.ix.get(*req.ID)
	if e == nil {
		fail(w, http.StatusNotFound, (&NotHeldError{ID: *req.ID}).Error())
		return
	}
	rec, _, err := s.in.record(e)
	if err != nil || rec == nil {
		msg := "not a record"
		if err != nil {
			msg = err.Error()
		}
		fail(w, http.StatusNotFound, msg)
		return
	}
	target := req.URL
	if target == "" {
		target = resendURL(s.opts.ForwardTo, rec.Target)
	}
	if target == "" {
		fail(w, http.StatusBadRequest, "no forward target: type the URL to send it to")
		return
	}
	if err := deliver.CheckURL(target); err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	body, err := rec.Bytes()
	if err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	edited := req.Body != nil
	if edited {
		body = []byte(*req.Body)
	}
	header, err := rec.ExactHeader()
	if err != nil {
		header = rec.Header
	}
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	default:
		fail(w, http.StatusTooManyRequests, fmt.Sprintf("%d resends are under way: wait for one to end", maxResends))
		return
	}
	res := s.resend(r.Context(), target, endToEnd(header), body)
	out := ResendResult{URL: term.Sanitize(target), Sent: len(body), Edited: edited, Status: res.Status,
		LatencyMS: float64(res.Latency.Microseconds()) / 1000, Answer: sanitizeLines(string(res.Excerpt)),
		Check: checkBody(body, s.opts.Strict)}
	if res.Err != nil {
		out.Error, out.Cause = term.Sanitize(deliver.Explain(res.Cause, res.Err, s.opts.ResendTimeout)), string(res.Cause)
	}
	out.Headers = headerLines(res.Header)
	writeJSON(w, http.StatusOK, out)
}
