package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/livecb/livecb/internal/capture"
	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/inspect"
	"github.com/livecb/livecb/internal/listen"
	"github.com/livecb/livecb/internal/term"
)

// ListenOptions are the flags of `livecb listen`.
type ListenOptions struct {
	Host      string
	Port      int
	ReadyFile string

	Status    int
	Body      string
	Delay     time.Duration
	ForwardTo string
	// Forward is the delivery policy of --forward-to (--forward-timeout...).
	Forward deliveryFlags

	Save     string
	Sync     bool
	MaxBody  int64
	MaxConns int

	FamilyPaths bool
	Paths       []string
	Strict      bool
	Verbose     bool
	Quiet       bool
	Redact      bool

	Count         int
	Duration      time.Duration
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
'livecb validate' and 'livecb replay' read it. A request whose record cannot
be written (a full disk) is answered 500, so that its sender retries; a log
whose last record a crash cut is repaired at start. SIGHUP reopens the log
(rotation: move the file away, send SIGHUP, a new one is created); a log
moved, replaced or deleted meanwhile is reported. Bodies above --max-body are
answered 413 and their first bytes captured. --family-paths checks that each
family's callbacks arrive on its own path (/stream, /record, /snapshot,
/quality; --path FAMILY=PATH to change one).

--max-conns bounds the connections served at once (default: from the limit
of open files, at most 1024); at the bound the connection idle the longest
is closed, and when every one is busy a new one is answered 503. A request
that comes back to this listener through --forward-to is answered 508.

Without CI flags listen runs until SIGINT or SIGTERM, then prints a summary
and exits 0. CI mode: --count N stops after N callbacks; --expect KIND[=N]
(repeatable) requires at least N callbacks of KIND and, without --count, stops
once all have arrived; --duration D stops after D (--timeout, its old name,
still works); --fail-on-invalid fails on
any callback with an error. In CI mode a request that could not be saved
fails the run, and a callback answered 500 for it does not count.

--ui serves the inspector beside the listener on --ui-addr (127.0.0.1:4040;
port 0 picks one; printed on its own line, and the second line of
--ready-file): every callback in your browser as it arrives, its findings
marked in its body, each stream's timeline, resend with edits (see 'livecb
inspect' and docs/inspector.md). Exit status: 0 when every expectation holds, 1
otherwise (the summary says which), 4 when the port cannot be bound.`,
		Example: `  livecb listen --port 8080
  livecb listen --port 8080 --save capture.ndjson -v
  livecb listen --forward-to http://localhost:3000/callbacks --save capture.ndjson
  livecb listen --status 500 --delay 3s          # see how the sender retries
  livecb listen --port 0 --ready-file url.txt --count 6 --expect record_done --fail-on-invalid --duration 60s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return listenRun(app, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Host, "host", "127.0.0.1", "`ADDRESS` to bind (0.0.0.0 for every interface)")
	f.IntVarP(&opts.Port, "port", "p", 8080, "port to bind; 0 picks a free port")
	f.StringVar(&opts.ReadyFile, "ready-file", "", "write the URL to `FILE` once the port is bound")
	f.IntVar(&opts.Status, "status", 200, "HTTP status to answer")
	f.StringVar(&opts.Body, "body", "", "`TEXT` to answer")
	f.DurationVar(&opts.Delay, "delay", 0, "wait this long before answering (e.g. 3s)")
	f.StringVar(&opts.ForwardTo, "forward-to", "", "pass every callback on to this `URL` and answer with its answer")
	opts.Forward.register(f, "forward-", deliverySet{timeout: 5 * time.Second})
	f.StringVar(&opts.Save, "save", "", "append every request to the capture log `FILE` (NDJSON)")
	f.BoolVar(&opts.Sync, "sync", false, "fsync the capture log after each record (durable across power loss)")
	sizeVar(f, &opts.MaxBody, "max-body", "1MiB", "largest body accepted, a `SIZE` (64KiB, 10MB); larger ones get 413")
	f.IntVar(&opts.MaxConns, "max-conns", 0, "connections served at once; 0 derives it from the limit of open files (at most 1024)")
	f.BoolVar(&opts.FamilyPaths, "family-paths", false, "require each family on its own path: /stream, /record, /snapshot, /quality")
	f.StringArrayVar(&opts.Paths, "path", nil, "a family's path, `FAMILY=PATH` (implies --family-paths; repeatable)")
	f.BoolVar(&opts.Strict, "strict", false, "count warnings as errors")
	f.BoolVarP(&opts.Verbose, "verbose", "v", false, "also print headers and the pretty-printed body")
	f.BoolVarP(&opts.Quiet, "quiet", "q", false, "print only requests with findings (the summary still counts all)")
	f.BoolVar(&opts.Redact, "redact", false, "mask secret-looking headers, query parameters and fields in the capture log too")
	f.IntVar(&opts.Count, "count", 0, "stop after this many callbacks (CI)")
	f.DurationVar(&opts.Duration, "duration", 0, "stop after this long; with --count or --expect, fail if they did not arrive (CI)")
	deprecatedAlias(f, "timeout", "duration")
	f.StringArrayVar(&opts.Expect, "expect", nil, "`KIND[=N]`: at least N callbacks of KIND must arrive (N is 1 when not given; repeatable; CI)")
	f.BoolVar(&opts.FailOnInvalid, "fail-on-invalid", false, "fail if any callback has an error (CI)")
	f.DurationVar(&opts.Grace, "grace", 10*time.Second, "at shutdown, how long requests in flight may take to finish")
	f.BoolVar(&opts.UI, "ui", false, "serve the inspector beside the listener: every callback in your browser")
	f.StringVar(&opts.UIAddr, "ui-addr", inspect.DefaultAddr, "`ADDRESS` of the inspector's pages with --ui, host:port (port 0 picks a free one)")
	return cmd
}

// listenConfig is ListenOptions checked and converted.
type listenConfig struct {
	engine listen.Options
	goal   listen.Goal
}

func (opts *ListenOptions) check(app *App) (*listenConfig, error) {
	if opts.Port < 0 || opts.Port > 65535 {
		return nil, usageErrorf("--port %d: use 1-65535, or 0 for any free port", opts.Port)
	}
	if opts.Status < 100 || opts.Status > 599 {
		return nil, usageErrorf("--status %d: use an HTTP status, 100-599", opts.Status)
	}
	if opts.Count < 0 {
		return nil, usageErrorf("--count %d: use a positive number", opts.Count)
	}
	if opts.MaxConns < 0 {
		return nil, usageErrorf("--max-conns %d: use a positive number, or 0 for the default", opts.MaxConns)
	}
	if opts.Delay < 0 {
		return nil, usageErrorf("--delay %s: give a duration of 0 or more", opts.Delay)
	}
	if opts.Duration < 0 {
		return nil, usageErrorf("--duration %s: give a duration of 0 or more", opts.Duration)
	}
	if opts.ForwardTo != "" {
		if err := checkURL("--forward-to", opts.ForwardTo); err != nil {
			return nil, err
		}
	}
	fwd, err := opts.Forward.check(app)
	if err != nil {
		return nil, err
	}
	c := &listenConfig{
		engine: listen.Options{
			Addr:      listen.JoinHostPort(opts.Host, opts.Port),
			Status:    opts.Status,
			Body:      []byte(opts.Body),
			Delay:     opts.Delay,
			ForwardTo: opts.ForwardTo,
			Forward:   &fwd,
			MaxBody:   opts.MaxBody,
			MaxConns:  opts.MaxConns,
			Strict:    opts.Strict,
			Redact:    opts.Redact,
		},
		goal: listen.Goal{Count: opts.Count, FailOnInvalid: opts.FailOnInvalid, Timeout: opts.Duration},
	}
	for _, e := range opts.Expect {
		exp, err := listen.ParseExpectation(e)
		if err != nil {
			return nil, flagError("--expect", err)
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
	cfg, err := opts.check(app)
	if err != nil {
		return err
	}
	if !listen.IsLoopback(opts.Host) {
		app.errorf("%s --host %s is not a loopback address: anyone who can reach this machine can send callbacks to it\n",
			app.ErrColor.Warn("Warning:"), opts.Host)
	}
	// stderr is written from the request that reports, the capture log's
	// notices and SIGHUP at once.
	var errMu sync.Mutex
	errorf := func(format string, args ...any) {
		errMu.Lock()
		defer errMu.Unlock()
		app.errorf(format, args...)
	}
	var cw *capture.Writer
	if opts.Save != "" {
		notify := func(n capture.Notice) {
			errorf("%s %s\n", app.ErrColor.Warn("Warning:"), term.Sanitize(n.String()))
		}
		if cw, err = capture.Open(opts.Save, capture.Options{Sync: opts.Sync, Notify: notify}); err != nil {
			return writeError("--save", err)
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
	defer tuneGC(app)()
	if app.env("GOMEMLIMIT") == "" {
		// ...and up to a soft limit, so that a burst of large bodies
		// (each costs many times its size to check) is collected early
		// instead of growing the heap 5x: 16 bodies of 1 MiB at once
		// peak at about 140 MB of RSS instead of 250.
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(max(128<<20, 64*cfg.engine.MaxBody)))
	}
	var out *timedBuffer
	if !app.OutTTY {
		// Piped or redirected: one write(2) per request line would cost
		// more than the request; a terminal keeps line-by-line output.
		out = newTimedBuffer(app.Out, stdoutFlushEvery)
		defer out.Close()
		app.Output.SetWriter(out)
	}
	pr := newRequestPrinter(app, opts.Verbose)
	reached := make(chan struct{})
	closed := false
	cfg.engine.Capture = cw
	// Each request's line is made on its own goroutine, concurrently
	// (Render); OnRequest, called one request at a time in capture order,
	// only writes it. A data record holds its sequence number, known only
	// once committed: it is made in OnRequest.
	shown := func(r *listen.Request) bool { return !opts.Quiet || len(r.Record.Findings) > 0 }
	structured := app.Output.Structured()
	if !structured {
		cfg.engine.Render = func(dst []byte, r *listen.Request) []byte {
			if !shown(r) {
				return dst
			}
			return pr.render(dst, r)
		}
	}
	if ui != nil {
		// The inspector summarises each request on its goroutine too; in
		// OnRequest it only numbers and keeps it.
		cfg.engine.Prepare = ui.in.Prepare
	}
	cfg.engine.OnRequest = func(r *listen.Request, st *listen.Stats) {
		if ui != nil {
			ui.in.Add(r)
		}
		switch {
		case structured && shown(r):
			pr.print(r) //nolint:errcheck // a closed stdout must not stop the listener
		case len(r.Line) > 0:
			app.Output.Writer().Write(r.Line) //nolint:errcheck // as above
		}
		if r.CaptureErr != nil {
			errorf("%s could not write the capture log (answered 500): %s\n", app.ErrColor.Bad("Error:"), term.Sanitize(r.CaptureErr.Error()))
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
			if be.InUse() {
				return ioError(fmt.Errorf("%w: choose another with --port, or --port 0 for any free port", err))
			}
			return ioError(err)
		}
		return usageErrorf("%v", err)
	}

	ctx, stop := interruptible(context.Background())
	defer stop()
	// SIGHUP reopens the capture log (log rotation); it never stops listen.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
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
	if opts.Duration > 0 {
		t := time.NewTimer(opts.Duration)
		defer t.Stop()
		timeout = t.C
	}
	var why string
	var serveErr error
	for why == "" {
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
			why = fmt.Sprintf("--duration %s reached", opts.Duration)
		case serveErr = <-served:
			why = "the server stopped"
		case <-hup:
			if cw == nil {
				errorf("SIGHUP: no capture log to reopen (no --save)\n")
			} else if err := cw.Reopen(); err != nil {
				errorf("%s SIGHUP: could not reopen %s: %v; records go on into the old file\n",
					app.ErrColor.Warn("Warning:"), display(opts.Save), err)
			} else {
				errorf("SIGHUP: reopened %s\n", display(opts.Save))
			}
		}
	}

	// A second signal cuts the grace short.
	grace, cancel := context.WithTimeout(hurry(ctx), max(opts.Grace, time.Millisecond))
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

func printListenSummary(app *App, st listen.Stats, why string) {
	line := fmt.Sprintf("%s: %d valid (%d with warnings), %d invalid", plural(st.Callbacks, "callback"), st.Valid, st.Warned, st.Invalid)
	if st.Other > 0 {
		line += fmt.Sprintf("; %s not POST", plural(st.Other, "other request"))
	}
	if st.CaptureFailed > 0 {
		line += fmt.Sprintf("; %s not saved (answered 500)", plural(st.CaptureFailed, "request"))
	}
	if st.Shed > 0 || st.Refused > 0 {
		line += fmt.Sprintf("; %d idle connections closed and %d refused at --max-conns", st.Shed, st.Refused)
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
	if len(parts) > 0 { // (none when no callback could be saved)
		app.errorf("  %s\n", strings.Join(parts, ", "))
	}
}
