package cli

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/livecb/livecb/internal/capture"
	"github.com/livecb/livecb/internal/deliver"
	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/listen"
)

// DemoOptions are the flags of `livecb demo`.
type DemoOptions struct {
	Save    string
	Verbose bool
}

func newDemoCmd(app *App) *cobra.Command {
	opts := &DemoOptions{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "See livecb at work: a listener receives a whole stream's callbacks",
		Long: `A tour in one command, on this machine only. demo starts a listener on a
free port of 127.0.0.1 inside this process, sends it the callbacks of one
whole stream, every kind in the order the service sends them
(publish_started, snapshot, quality, publish_done, record_done,
task_record_done), each to its family's path, plus one deliberately broken
record_done, and prints what the listener saw with its verdicts, as
'livecb listen' does. The capture log is saved to a temporary file (or
--save FILE) for 'livecb validate' and 'livecb replay'.

The broken callback is expected: demo exits 0 when everything behaved as
described, 1 otherwise.`,
		Example: `  go run ./cmd/livecb demo
  livecb demo -v
  livecb demo --save demo.ndjson && livecb validate demo.ndjson`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return demoRun(app, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Save, "save", "", "save the capture log here (default: a new temporary file)")
	cmd.Flags().BoolVarP(&opts.Verbose, "verbose", "v", false, "also print headers and the pretty-printed body of each callback")
	return cmd
}

// demoKinds is one stream's callbacks in the order the service sends them.
var demoKinds = []event.Kind{event.PublishStarted, event.Snapshot, event.Quality, event.PublishDone, event.RecordDone, event.TaskRecordDone}

type demoCallback struct {
	kind event.Kind
	body []byte
}

// demoBroken is a record_done with the mistakes a hand-written sender makes:
// a duration in words and no download link.
func demoBroken(s event.Stream) ([]byte, error) {
	body, err := event.Sample(event.RecordDone, s)
	if err != nil {
		return nil, err
	}
	if body, err = event.Set(body, "duration", event.StringValue("about 18 minutes")); err != nil {
		return nil, err
	}
	return event.Unset(body, "downloadUrl")
}

func demoRun(app *App, opts *DemoOptions) error {
	stream := event.NewStream(app.Now(), nil)
	var calls []demoCallback
	for _, k := range demoKinds {
		body, err := event.Sample(k, stream)
		if err != nil {
			return err
		}
		calls = append(calls, demoCallback{k, body})
	}
	broken, err := demoBroken(stream)
	if err != nil {
		return err
	}
	calls = append(calls, demoCallback{event.RecordDone, broken})

	path := opts.Save
	if path == "" {
		f, err := os.CreateTemp("", "livecb-demo-*.ndjson")
		if err != nil {
			return ioError(fmt.Errorf("creating the capture file: %w", err))
		}
		path = f.Name()
		f.Close()
	}
	cw, err := capture.Create(path, false)
	if err != nil {
		return ioError(err)
	}
	pr := newRequestPrinter(app, opts.Verbose)
	srv, err := listen.Listen(listen.Options{
		Addr:      "127.0.0.1:0",
		Paths:     listen.DefaultPaths,
		Capture:   cw,
		OnRequest: func(r *listen.Request, _ *listen.Stats) { pr.print(r) },
	})
	if err != nil {
		cw.Close()
		return ioError(err)
	}
	go srv.Serve()
	base := srv.URL()

	fmt.Fprintf(app.Out, "livecb demo: a listener on %s receives one stream's callbacks, every kind, each on its family's path, and one broken one.\n\n", base)
	client := deliver.NewClient(deliver.Policy{Timeout: 5 * time.Second, UserAgent: app.UserAgent()})
	ctx := context.Background()
	var netErr error
	for _, c := range calls {
		res := client.Do(ctx, deliver.Request{URL: base + listen.DefaultPaths[c.kind.Family()], Body: c.body}, nil)
		if res.Err != nil {
			netErr = fmt.Errorf("sending %s to the demo listener: %s: %v", c.kind, res.Cause, res.Err)
			break
		}
	}
	shut, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	srv.Shutdown(shut)
	if err := cw.Close(); err != nil {
		return ioError(err)
	}
	if netErr != nil {
		return &ExitError{Code: ExitNetwork, Err: netErr}
	}
	st := srv.Stats()
	fmt.Fprintln(app.Out)
	fmt.Fprintf(app.Out, "%s: %d valid (%d with warnings), %d invalid.\n", plural(st.Callbacks, "callback"), st.Valid, st.Warned, st.Invalid)
	ok := st.Callbacks == len(calls) && st.Invalid == 1
	if ok {
		fmt.Fprintf(app.Out, "The INVALID record_done is the deliberately broken one: that is expected.\n")
	} else {
		fmt.Fprintf(app.Out, "%s expected %d callbacks with exactly 1 invalid (the broken one)\n", app.Color.Bad("Unexpected:"), len(calls))
	}
	fmt.Fprintf(app.Out, "The listener saved every request to %s\n\nNext:\n", path)
	next := [][2]string{
		{"livecb validate " + path, "check the capture again"},
		{"livecb listen --port 8080 --save capture.ndjson", "receive your own callbacks"},
		{"livecb events", "the kinds and their fields"},
	}
	width := 0
	for _, n := range next {
		width = max(width, len(n[0]))
	}
	for _, n := range next {
		fmt.Fprintf(app.Out, "  %-*s  # %s\n", width, n[0], n[1])
	}
	if !ok {
		return checkFailed
	}
	return nil
}
