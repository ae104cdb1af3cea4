package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/livecb/livecb/internal/capture"
	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/inspect"
	"github.com/livecb/livecb/internal/listen"
	"github.com/livecb/livecb/internal/redact"
	"github.com/livecb/livecb/internal/term"
)

// ListenOptions are the flags of `livecb listen`.
type ListenOptions struct {
	Host      string
	Port      int
	ReadyFile string

	Status         int
	Body           string
	Delay          time.Duration
	ForwardTo      string
	ForwardTimeout time.Duration

	Save    string
	Sync    bool
	MaxBody string

	FamilyPaths bool
	Paths       []string
	Strict      bool
	Verbose     bool
	Quiet       bool
	Redact      bool

	Count         int
	Timeout       time.Duration
	Expect        []string
	FailOnInvalid bool

	// Grace bounds the wait for requests in flight at shutdown.
	Grace time.Duration

	UI     bool
	UIAddr string
}

func newListenCmd(app *App) *cobra.Command {
	opts := &ListenOptions{}
	cmd := &cobra.Command{
		Use:   "listen",
		Short: "Receive callbacks: show, validate and capture every one",
		Long: `Receive callbacks the way your receiver would, and show exactly what arrives.

listen binds 127.0.0.1 (--host to choose; a warning says when that is not a
loopback address) and accepts POSTs on any path. It says "ready" with its URL
once the port is bound (--port 0 picks a free one; --ready-file PATH also
writes the URL there, for scripts). Each request is one line: time, method and
path, kind, publishDomain/appName/streamName, the key fields of its kind, and
the verdict; findings follow with their JSON paths. -v adds the headers and the
pretty-printed body. Everything that came from the network is printed
escaped: control characters and escape sequences are never interpreted.
Secrets are masked on the terminal: Authorization, Cookie, Set-Cookie and
Proxy-Authorization headers, and headers, query parameters and JSON fields
named like keys, tokens, secrets, signatures or passwords (auth_key,
txSecret, access_token...). The capture log keeps them, so that a replay is
byte for byte; --redact masks them there too (such a capture no longer
replays exactly). Bodies are never decompressed: a Content-Encoding is
reported and the bytes are kept as they arrived.
--output json prints one JSON object per request (a capture record with
"valid" and "callback" added).

The answer is 200 with an empty body; --status, --body and --delay change it,
to see how a sender reacts. --forward-to URL passes each callback on, byte for
byte with its headers (except hop-by-hop ones), to a real receiver and gives
the caller that receiver's answer; a URL without a path gets the request's
path and query appended.

--save FILE appends every request (invalid, oversized and wrong-method ones
too) to a capture log, each record written whole before the answer is sent;
'livecb validate' and 'livecb replay' read it. Bodies above --max-body are
answered 413 and their first bytes captured. --family-paths checks that each
family's callbacks arrive on its own path (/stream, /record, /snapshot,
/quality; --path FAMILY=PATH to change one).

Without CI flags listen runs until SIGINT or SIGTERM, then prints a summary
and exits 0. CI mode: --count N stops after N callbacks; --expect KIND[=N]
(repeatable) requires at least N callbacks of KIND and, without --count, stops
once all have arrived; --timeout D stops after D; --fail-on-invalid fails on
any callback with an error. Exit status: 0 when every expectation holds, 1
otherwise (the summary says which), 4 when the port cannot be bound.

--ui serves the inspector beside the listener on --ui-addr (127.0.0.1:4040;
port 0 picks one; printed on its own line, and the second line of
--ready-file): every callback in your browser as it arrives, its findings
marked in its body, each stream's timeline, resend with edits (see 'livecb
inspect' and docs/inspector.md).`,
		Example: `  livecb listen --port 8080
  livecb listen --port 8080 --save capture.ndjson -v
  livecb listen --forward-to http://localhost:3000/callbacks --save capture.ndjson
  livecb listen --status 500 --delay 3s          # see how the sender retries
  livecb listen --port 0 --ready-file url.txt --count 6 --expect record_done --fail-on-invalid --timeout 60s
  livecb listen --port 8080 --save capture.ndjson --ui`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return listenRun(app, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Host, "host", "127.0.0.1", "address to bind (0.0.0.0 for every interface)")
	f.IntVarP(&opts.Port, "port", "p", 8080, "port to bind; 0 picks a free port")
	f.StringVar(&opts.ReadyFile, "ready-file", "", "write the URL to this file once the port is bound")
	f.IntVar(&opts.Status, "status", 200, "HTTP status to answer")
	f.StringVar(&opts.Body, "body", "", "body to answer")
	f.DurationVar(&opts.Delay, "delay", 0, "wait this long before answering (e.g. 3s)")
	f.StringVar(&opts.ForwardTo, "forward-to", "", "pass every callback on to this URL and answer with its answer")
	f.DurationVar(&opts.ForwardTimeout, "forward-timeout", 5*time.Second, "timeout of each forwarded request")
	f.StringVar(&opts.Save, "save", "", "append every request to this capture log (NDJSON)")
	f.BoolVar(&opts.Sync, "sync", false, "fsync the capture log after each record (durable across power loss)")
	f.StringVar(&opts.MaxBody, "max-body", "1MiB", "largest body accepted; larger ones get 413 (e.g. 64KiB, 10MB)")
	f.BoolVar(&opts.FamilyPaths, "family-paths", false, "require each family on its own path: /stream, /record, /snapshot, /quality")
	f.StringArrayVar(&opts.Paths, "path", nil, "a family's path, FAMILY=PATH (implies --family-paths; repeatable)")
	f.BoolVar(&opts.Strict, "strict", false, "count warnings as errors")
	f.BoolVarP(&opts.Verbose, "verbose", "v", false, "also print headers and the pretty-printed body")
	f.BoolVarP(&opts.Quiet, "quiet", "q", false, "print only requests with findings (the summary still counts all)")
	f.BoolVar(&opts.Redact, "redact", false, "mask secret-looking headers, query parameters and fields in the capture log too")
	f.IntVar(&opts.Count, "count", 0, "stop after this many callbacks (CI)")
	f.DurationVar(&opts.Timeout, "timeout", 0, "stop after this long; with --count or --expect, fail if they did not arrive (CI)")
	f.StringArrayVar(&opts.Expect, "expect", nil, "KIND[=N]: at least N callbacks of KIND must arrive (default 1; repeatable; CI)")
	f.BoolVar(&opts.FailOnInvalid, "fail-on-invalid", false, "fail if any callback has an error (CI)")
	f.DurationVar(&opts.Grace, "grace", 10*time.Second, "at shutdown, how long requests in flight may take to finish")
	f.BoolVar(&opts.UI, "ui", false, "serve the inspector beside the listener: every callback in your browser")
	f.StringVar(&opts.UIAddr, "ui-addr", inspect.DefaultAddr, "address of the inspector's pages with --ui, host:port (port 0 picks a free one)")
	cmd.RegisterFlagCompletionFunc("expect", completeKinds)
	return cmd
}

// listenConfig is ListenOptions checked and converted.
type listenConfig struct {
	engine listen.Options
	goal   listen.Goal
}

func (opts *ListenOptions) check() (*listenConfig, error) {
	if opts.Port < 0 || opts.Port > 65535 {
		return nil, usageErrorf("--port %d: use 1-65535, or 0 for any free port", opts.Port)
	}
	if opts.Status < 100 || opts.Status > 599 {
		return nil, usageErrorf("--status %d: use an HTTP status, 100-599", opts.Status)
	}
	maxBody, err := humanize.ParseBytes(opts.MaxBody)
	if err != nil || maxBody == 0 || maxBody > 1<<34 {
		return nil, usageErrorf("--max-body %q: use a size such as 1MiB, 512KiB or 1048576", opts.MaxBody)
	}
	if opts.Count < 0 {
		return nil, usageErrorf("--count %d: use a positive number", opts.Count)
	}
	if opts.Delay < 0 || opts.Timeout < 0 || opts.ForwardTimeout < 0 {
		return nil, usageErrorf("durations must not be negative")
	}
	c := &listenConfig{
		engine: listen.Options{
			Addr:           net.JoinHostPort(opts.Host, strconv.Itoa(opts.Port)),
			Status:         opts.Status,
			Body:           []byte(opts.Body),
			Delay:          opts.Delay,
			ForwardTo:      opts.ForwardTo,
			ForwardTimeout: opts.ForwardTimeout,
			MaxBody:        int64(maxBody),
			Strict:         opts.Strict,
			Redact:         opts.Redact,
		},
		goal: listen.Goal{Count: opts.Count, FailOnInvalid: opts.FailOnInvalid},
	}
	for _, e := range opts.Expect {
		exp, err := listen.ParseExpectation(e)
		if err != nil {
			return nil, usageErrorf("--expect %s: %v", e, err)
		}
		c.goal.Expect = append(c.goal.Expect, exp)
	}
	if opts.FamilyPaths || len(opts.Paths) > 0 {
		c.engine.Paths = map[event.Family]string{}
		for f, p := range listen.DefaultPaths {
			c.engine.Paths[f] = p
		}
		for _, fp := range opts.Paths {
			fam, path, ok := strings.Cut(fp, "=")
			if !ok || !strings.HasPrefix(path, "/") || !isFamily(event.Family(fam)) {
				return nil, usageErrorf("--path %q: write FAMILY=/PATH with FAMILY one of stream, record, snapshot, quality", fp)
			}
			c.engine.Paths[event.Family(fam)] = path
		}
	}
	return c, nil
}

func isFamily(f event.Family) bool {
	for _, g := range event.Families {
		if g == f {
			return true
		}
	}
	return false
}

func listenRun(app *App, opts *ListenOptions) error {
	cfg, err := opts.check()
	if err != nil {
		return err
	}
	if !isLoopback(opts.Host) {
		app.errorf("%s --host %s is not a loopback address: anyone who can reach this machine can send callbacks to it\n",
			app.ErrColor.Warn("Warning:"), opts.Host)
	}
	var cw *capture.Writer
	if opts.Save != "" {
		if cw, err = capture.Create(opts.Save, opts.Sync); err != nil {
			return ioError(fmt.Errorf("--save: %w", err))
		}
	}
	var ui *listenInspector
	if opts.UI {
		if ui, err = newListenInspector(opts.Save); err != nil {
			if cw != nil {
				cw.Close()
			}
			return err
		}
		defer ui.close(app)
	}
	if app.Getenv("GOGC") == "" {
		// The listener keeps little alive (requests in flight and the
		// counts) but allocates for every request: collecting once the
		// heap grew 4x instead of 2x halves the collector's CPU under
		// load, for a few MB more at most.
		defer debug.SetGCPercent(debug.SetGCPercent(400))
	}
	pr := newRequestPrinter(app, opts.Verbose)
	var out *timedBuffer
	if !app.OutTTY {
		// Piped or redirected: one write(2) per request line would cost
		// more than the request; a terminal keeps line-by-line output.
		out = newTimedBuffer(app.Out, stdoutFlushEvery)
		defer out.Close()
		pr.setOutput(out)
	}
	reached := make(chan struct{})
	closed := false
	cfg.engine.Capture = cw
	// Each request's line is made on its own goroutine, concurrently
	// (Render); OnRequest, called one request at a time in capture order,
	// only writes it. A JSON record holds its sequence number, known only
	// once committed: it is made in OnRequest.
	shown := func(r *listen.Request) bool { return !opts.Quiet || len(r.Record.Findings) > 0 }
	if !app.JSON {
		cfg.engine.Render = func(dst []byte, r *listen.Request) []byte {
			if !shown(r) {
				return dst
			}
			return pr.render(dst, r)
		}
	}
	cfg.engine.OnRequest = func(r *listen.Request, st *listen.Stats) {
		if ui != nil {
			ui.in.Add(r)
		}
		switch {
		case app.JSON && shown(r):
			pr.print(r)
		case len(r.Line) > 0:
			pr.w.Write(r.Line)
		}
		if r.CaptureErr != nil {
			app.errorf("%s could not write the capture log: %v\n", app.ErrColor.Bad("Error:"), r.CaptureErr)
		}
		if !closed && cfg.goal.Reached(*st) {
			closed = true
			close(reached)
		}
	}
	srv, err := listen.Listen(cfg.engine)
	if err != nil {
		if cw != nil {
			cw.Close()
		}
		var be *listen.BindError
		if errors.As(err, &be) {
			return ioError(err)
		}
		return usageErrorf("%v", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()

	url := srv.URL()
	ready := url + "\n"
	if ui != nil {
		if err := ui.serve(app, opts.UIAddr, url, opts.ForwardTo, opts.Strict); err != nil {
			srv.Shutdown(context.Background())
			if cw != nil {
				cw.Close()
			}
			return err
		}
		ready += ui.srv.URL() + "\n"
	}
	app.errorf("ready: listening on %s (POST callbacks to any path%s; Ctrl-C to stop)\n", url, savingNote(opts.Save))
	if ui != nil {
		app.errorf("inspector: %s\n", ui.srv.URL())
	}
	if opts.ReadyFile != "" {
		if err := writeFileAtomic(opts.ReadyFile, []byte(ready)); err != nil {
			srv.Shutdown(context.Background())
			if cw != nil {
				cw.Close()
			}
			return ioError(fmt.Errorf("--ready-file: %w", err))
		}
	}

	var timeout <-chan time.Time
	if opts.Timeout > 0 {
		t := time.NewTimer(opts.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	var why string
	var serveErr error
	select {
	case <-ctx.Done():
		why = "interrupted"
	case <-reached:
		if cfg.goal.Count > 0 {
			why = fmt.Sprintf("--count %d reached", cfg.goal.Count)
		} else {
			why = "every --expect held"
		}
	case <-timeout:
		why = fmt.Sprintf("--timeout %s reached", opts.Timeout)
	case serveErr = <-served:
		why = "the server stopped"
	}
	stop()

	grace, cancel := context.WithTimeout(context.Background(), max(opts.Grace, time.Millisecond))
	defer cancel()
	if err := srv.Shutdown(grace); err != nil {
		app.errorf("%s requests still in flight after --grace %s were cut off\n", app.ErrColor.Warn("Warning:"), opts.Grace)
	}
	if cw != nil {
		if err := cw.Close(); err != nil {
			return ioError(fmt.Errorf("--save %s: %w", opts.Save, err))
		}
	}
	if out != nil {
		out.Close() // every request's line before the summary
	}
	st := srv.Stats()
	printListenSummary(app, st, why)
	if serveErr != nil {
		return ioError(serveErr)
	}
	if cfg.goal.Active() {
		failures := cfg.goal.Failures(st)
		for _, f := range failures {
			app.errorf("%s %s\n", app.ErrColor.Bad("FAIL"), f)
		}
		if len(failures) > 0 {
			return checkFailed
		}
		app.errorf("%s every expectation held\n", app.ErrColor.OK("PASS"))
	}
	return nil
}

func savingNote(path string) string {
	if path == "" {
		return ""
	}
	return "; saving to " + path
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// writeFileAtomic writes data to a temporary file beside path and renames it,
// so that a script polling for path never reads it half written.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return err
	}
	return nil
}

func printListenSummary(app *App, st listen.Stats, why string) {
	line := fmt.Sprintf("%s: %d valid (%d with warnings), %d invalid", plural(st.Callbacks, "callback"), st.Valid, st.Warned, st.Invalid)
	if st.Other > 0 {
		line += fmt.Sprintf("; %s not POST", plural(st.Other, "other request"))
	}
	app.errorf("stopped (%s). %s\n", why, line)
	if st.Callbacks == 0 {
		return
	}
	var parts []string
	for _, k := range event.KindNames() {
		if n := st.Kinds[event.Kind(k)]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, n))
		}
	}
	if st.Unknown > 0 {
		parts = append(parts, fmt.Sprintf("unknown %d", st.Unknown))
	}
	app.errorf("  %s\n", strings.Join(parts, ", "))
}

// requestPrinter renders listener requests: one line each with findings
// below (text), or one JSON object each (--output json). listen and demo
// share it. render may run concurrently (the listener renders each request
// on its own goroutine, outside the capture's critical section); print
// writes, one call at a time.
type requestPrinter struct {
	w       io.Writer
	p       *term.Palette
	json    bool
	verbose bool
	buf     []byte // print's buffer
}

func newRequestPrinter(app *App, verbose bool) *requestPrinter {
	return &requestPrinter{w: app.Out, p: app.Color, json: app.JSON, verbose: verbose}
}

// listenJSON is one line of --output json: the capture record plus the verdict.
type listenJSON struct {
	*capture.Record
	Callback bool `json:"callback"`
	Valid    bool `json:"valid"`
}

const kindWidth = len("task_record_done")

// setOutput makes the printer write to w.
func (pr *requestPrinter) setOutput(w io.Writer) {
	pr.w = w
}

// print writes what render makes of r.
func (pr *requestPrinter) print(r *listen.Request) {
	pr.buf = pr.render(pr.buf[:0], r)
	pr.w.Write(pr.buf)
}

// render appends r's printed form to dst.
func (pr *requestPrinter) render(dst []byte, r *listen.Request) []byte {
	rec := r.Record
	if pr.json {
		out := listenJSON{Record: rec, Callback: r.Callback, Valid: r.Valid()}
		if out.Findings == nil {
			out.Findings = event.Findings{}
		}
		w := bytes.NewBuffer(dst)
		json.NewEncoder(w).Encode(out)
		return w.Bytes()
	}
	// Built by appending: this runs once per request.
	var tbuf [32]byte
	b := dst
	b = append(b, pr.p.Dim(string(rec.Time.Local().AppendFormat(tbuf[:0], "15:04:05.000")))...)
	b = append(b, "  "...)
	b = appendPadded(b, len("POST /snapshot"), term.Sanitize(rec.Method), " ", term.Sanitize(redact.Target(rec.Target, redact.Display)))
	kind := string(rec.Kind)
	if kind == "" {
		kind = "-"
	}
	b = append(b, "  "...)
	b = appendPadded(b, kindWidth, kind)
	if r.Event != nil && r.Event.Kind != "" {
		b = append(b, "  "...)
		id := r.Event.Identity()
		b = append(b, term.Sanitize(id.Domain)...)
		b = append(b, '/')
		b = append(b, term.Sanitize(id.App)...)
		b = append(b, '/')
		b = append(b, term.Sanitize(id.Stream)...)
		for _, kf := range r.Event.KeyFields() {
			b = append(b, ' ')
			b = append(b, kf.Name...)
			b = append(b, '=')
			b = append(b, quoteIfSpaced(term.Sanitize(kf.Value))...)
		}
	} else if rec.Truncated || r.Event == nil {
		b = append(b, "  "...)
		b = append(b, humanize.IBytes(uint64(rec.Size))...)
	}
	b = append(b, "  "...)
	if r.Callback {
		b = append(b, verdict(pr.p, rec.Findings)...)
	} else {
		b = append(b, pr.p.Bad("NOT A CALLBACK")...)
	}
	b = append(b, "  "...)
	b = append(b, pr.answer(rec.Answer)...)
	b = append(b, '\n')
	if len(rec.Findings) == 0 && !pr.verbose {
		return b
	}
	w := bytes.NewBuffer(b)
	printFindings(w, pr.p, maskedFindings(rec.Findings), "    ")
	if pr.verbose {
		pr.details(w, rec)
	}
	return w.Bytes()
}

// appendPadded appends the concatenation of parts, then spaces up to
// width runes (fmt's %-*s).
func appendPadded(b []byte, width int, parts ...string) []byte {
	n := 0
	for _, p := range parts {
		b = append(b, p...)
		n += utf8.RuneCountInString(p)
	}
	for ; n < width; n++ {
		b = append(b, ' ')
	}
	return b
}

func (pr *requestPrinter) answer(a capture.Answer) string {
	s := "→ " + strconv.Itoa(a.Status)
	if a.Forwarded != nil {
		if a.Forwarded.Error != "" {
			s += " (forward failed)"
		} else {
			s += fmt.Sprintf(" from %s in %.1fms", term.Sanitize(redact.String(a.Forwarded.URL, redact.Display)), a.Forwarded.LatencyMS)
		}
	}
	if a.Status >= 300 {
		return pr.p.Warn(s)
	}
	return pr.p.Dim(s)
}

// maskedFindings are findings whose messages may quote a secret (a
// forwarding error quotes the URL with its query) made safe to show.
func maskedFindings(fs event.Findings) event.Findings {
	var out event.Findings
	for i, f := range fs {
		if m := redact.String(f.Message, redact.Display); m != f.Message {
			if out == nil {
				out = append(event.Findings(nil), fs...)
			}
			out[i].Message = m
		}
	}
	if out == nil {
		return fs
	}
	return out
}

// details prints the headers and the body of a request (-v), escaped.
func (pr *requestPrinter) details(w io.Writer, rec *capture.Record) {
	names := make([]string, 0, len(rec.Header)+1)
	for k := range rec.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	if rec.Host != "" {
		fmt.Fprintf(w, "    %s %s\n", pr.p.Dim("Host:"), term.Sanitize(rec.Host))
	}
	for _, k := range names {
		for _, v := range rec.Header[k] {
			fmt.Fprintf(w, "    %s %s\n", pr.p.Dim(term.Sanitize(k)+":"), term.Sanitize(redact.HeaderValue(k, v, redact.Display)))
		}
	}
	body, _ := rec.Bytes()
	if len(body) == 0 {
		fmt.Fprintf(w, "    %s\n", pr.p.Dim("(empty body)"))
		return
	}
	body, _ = redact.Body(body, redact.Display)
	const show = 2 << 10 // enough to read a callback; the capture log has all of it
	cut := len(body) > show
	if cut {
		body = body[:show]
	}
	var pretty bytes.Buffer
	if !cut && json.Indent(&pretty, body, "", "  ") == nil {
		body = pretty.Bytes()
	}
	for _, line := range strings.Split(strings.TrimRight(string(body), "\n"), "\n") {
		fmt.Fprintf(w, "    %s\n", term.Sanitize(line))
	}
	if cut || rec.Truncated {
		fmt.Fprintf(w, "    %s\n", pr.p.Dim(fmt.Sprintf("(body cut, %s in all)", humanize.IBytes(uint64(rec.Size)))))
	}
	fmt.Fprintln(w)
}

// quoteIfSpaced quotes a value that would not read as one word.
func quoteIfSpaced(s string) string {
	if s == "" || strings.IndexByte(s, ' ') >= 0 || strings.IndexByte(s, '"') >= 0 {
		return strconv.Quote(s)
	}
	return s
}
