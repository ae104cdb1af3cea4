package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/livecb/livecb/internal/contract"
	"github.com/livecb/livecb/internal/deliver"
	"github.com/livecb/livecb/internal/inspect"
	"github.com/livecb/livecb/internal/listen"
	"github.com/livecb/livecb/internal/source"
)

// InspectOptions are the flags of `livecb inspect`.
type InspectOptions struct {
	UIAddr      string
	Export      string
	ForwardTo   string
	KeepSecrets bool
	Strict      bool
	MaxRecord   int64
}

func newInspectCmd(app *App) *cobra.Command {
	opts := &InspectOptions{}
	cmd := &cobra.Command{
		Use:   "inspect FILE...",
		Short: "Open capture logs, HAR and NDJSON files in the inspector, in your browser",
		Long: `Open captured callbacks in the inspector: a page, served on --ui-addr
(127.0.0.1:4040; port 0 picks a free one), that lists every request
(filtered by kind, verdict, stream and text, paged however many there are),
shows each one's headers, its body with every finding marked at its JSON
path, its raw bytes and the answer it got, draws each stream's life as a
timeline (publish span, snapshots, quality problems, recordings) with what is
wrong with it flagged, and resends a request, as received or edited, to
--forward-to or to a URL you type. 'livecb listen --ui' opens the same pages
beside a running listener.

FILE is a capture log (livecb listen --save), a HAR file or an NDJSON/JSON
file of callbacks, read as replay reads them; the inspector keeps a small
summary per request and reads bodies back from the files when a page shows
them.

--export FILE writes a single self-contained HTML report instead of serving:
the same pages with the data inside, no network needed, to attach to a CI
run. Secret-looking values (Authorization, auth_key, txSecret...) are masked
in it unless --keep-secrets.

The pages show every byte as text and run no script but their own; the
server answers only at an IP address or localhost and refuses requests of
other sites (see docs/inspector.md).`,
		Example: `  livecb inspect capture.ndjson
  livecb inspect capture.ndjson --forward-to http://localhost:3000/callbacks
  livecb inspect session.har callbacks.ndjson --ui-addr 127.0.0.1:0
  livecb inspect capture.ndjson --export report.html`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return inspectRun(app, opts, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.UIAddr, "ui-addr", inspect.DefaultAddr, "`ADDRESS` of the inspector's pages, host:port (port 0 picks a free one)")
	f.StringVar(&opts.Export, "export", "", "write a single-file HTML report to `FILE` instead of serving the pages")
	f.StringVar(&opts.ForwardTo, "forward-to", "", "where a resend goes unless you type a `URL` (a URL without a path gets the request's)")
	maxRecordVar(f, &opts.MaxRecord)
	f.BoolVar(&opts.KeepSecrets, "keep-secrets", false, "with --export, keep secret-looking values instead of masking them")
	f.BoolVar(&opts.Strict, "strict", false, "count warnings as errors (for bodies that carry no findings of their own, and edited ones)")
	return cmd
}

func inspectRun(app *App, opts *InspectOptions, files []string) error {
	if opts.ForwardTo != "" {
		if err := checkURL("--forward-to", opts.ForwardTo); err != nil {
			return err
		}
	}
	if opts.KeepSecrets && opts.Export == "" {
		return usageErrorf("--keep-secrets applies to --export only: the pages served locally show every value as received")
	}
	in, err := inspect.Open(files, inspect.OpenOptions{Strict: opts.Strict, Read: source.Options{MaxRecord: opts.MaxRecord}})
	if err != nil {
		return ioError(err)
	}
	defer in.Close()
	if opts.Export != "" {
		var b bytes.Buffer
		if err := in.Export(&b, inspect.ExportOptions{Title: strings.Join(files, ", "), KeepSecrets: opts.KeepSecrets, ForwardTo: opts.ForwardTo}); err != nil {
			return ioError(fmt.Errorf("--export: %w", err))
		}
		if err := writeFileAtomic(opts.Export, b.Bytes()); err != nil {
			return ioError(fmt.Errorf("--export: %w", err))
		}
		app.errorf("report: %s (%s)\n", opts.Export, plural(int(in.Len()), "request"))
		return nil
	}
	srv, err := startInspector(app, in, opts.UIAddr, inspect.ServerOptions{ForwardTo: opts.ForwardTo, Strict: opts.Strict,
		Title: strings.Join(files, ", ")})
	if err != nil {
		return err
	}
	ctx, stop := interruptible(context.Background())
	defer stop()
	app.errorf("inspector: %s (%s; Ctrl-C to stop)\n", srv.URL(), plural(int(in.Len()), "request"))
	<-ctx.Done()
	stopInspector(app, srv)
	return nil
}

// startInspector binds the inspector's address (--ui-addr), with the
// warning of listen --host when it is not a loopback address, and serves.
func startInspector(app *App, in *inspect.Inspector, addr string, opts inspect.ServerOptions) (*inspect.Server, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, usageErrorf("--ui-addr %q: write host:port, e.g. 127.0.0.1:4040 (port 0 picks a free one)", addr)
	}
	if !listen.IsLoopback(host) {
		shown := host
		if shown == "" {
			shown = "(every interface)"
		}
		app.errorf("%s --ui-addr %s is not a loopback address: anyone who can reach this machine can see every callback and resend them\n",
			app.ErrColor.Warn("Warning:"), shown)
	}
	opts.Addr = addr
	opts.Proxy = deliver.EnvProxy(app.env)
	srv, err := inspect.NewServer(in, opts)
	var be *inspect.BindError
	if errors.As(err, &be) {
		return nil, ioError(fmt.Errorf("--ui-addr: %w", err))
	}
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	go srv.Serve()
	return srv, nil
}

func stopInspector(app *App, srv *inspect.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		app.errorf("%s the inspector did not stop in time: %v\n", app.ErrColor.Warn("Warning:"), err)
	}
}

// testReport is a contract run as `livecb test --html` reports it.
func testReport(results []contract.Result, target string, seed uint64, start time.Time, elapsed time.Duration) inspect.TestReport {
	rep := inspect.TestReport{Title: "livecb test", Target: target, Seed: seed, Started: start, Duration: elapsed}
	for _, r := range results {
		if r.Case == nil {
			continue // not run (interrupted)
		}
		c := inspect.TestCase{Name: r.Case.Name, Family: string(r.Case.Family), Rule: r.Case.Rule, Negative: r.Case.Negative,
			Outcome: string(r.Outcome), Reason: r.Reason, Duration: r.Duration}
		for i, ex := range r.Exchanges {
			answer := ex.Answer
			if len(answer) > 512 {
				answer = answer[:512]
			}
			c.Exchanges = append(c.Exchanges, inspect.TestExchange{Kind: string(ex.Kind), URL: ex.URL, Status: ex.Status,
				Error: ex.Err, Cause: string(ex.Cause), Request: ex.Body, Answer: answer, Duration: ex.Latency, Failed: i == r.Failed})
		}
		rep.Cases = append(rep.Cases, c)
	}
	return rep
}

// writeTestReport writes --html.
func writeTestReport(path string, rep inspect.TestReport) error {
	var b bytes.Buffer
	if err := inspect.WriteTestReport(&b, rep); err != nil {
		return ioError(fmt.Errorf("--html: %w", err))
	}
	if err := writeFileAtomic(path, b.Bytes()); err != nil {
		return ioError(fmt.Errorf("--html: %w", err))
	}
	return nil
}

// listenInspector is listen --ui: the inspector, fed by the listener's
// hook, and the server of its pages.
type listenInspector struct {
	in  *inspect.Inspector
	srv *inspect.Server
}

// newListenInspector makes the inspector before the listener starts. With
// --save it must come after the capture log is opened: it reads back what
// the listener appends from then on.
func newListenInspector(save string) (*listenInspector, error) {
	in, err := inspect.NewLive(inspect.LiveOptions{SavePath: save})
	if err != nil {
		return nil, ioError(fmt.Errorf("--ui: reading --save %s: %w", save, err))
	}
	return &listenInspector{in: in}, nil
}

// serve starts the pages at addr, once the listener's URL is known.
func (li *listenInspector) serve(app *App, addr, listenURL, forwardTo string, strict bool) error {
	srv, err := startInspector(app, li.in, addr, inspect.ServerOptions{ForwardTo: forwardTo, Strict: strict,
		Title: "listening on " + listenURL})
	if err != nil {
		return err
	}
	li.srv = srv
	return nil
}

// close stops the pages (after the listener) and lets the records go.
func (li *listenInspector) close(app *App) {
	if li.srv != nil {
		stopInspector(app, li.srv)
	}
	li.in.Close()
}
