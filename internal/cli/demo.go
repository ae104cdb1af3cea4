package cli

import (
	"context"
	"fmt"
	"os"
	"strings"
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
(` + demoOrder() + `),
each to its family's path, plus one deliberately broken record_done, and
prints what the listener saw with its verdicts, as
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
	cmd.Flags().StringVar(&opts.Save, "save", "", "save the capture log to `FILE` (default: a new temporary file)")
	cmd.Flags().BoolVarP(&opts.Verbose, "verbose", "v", false, "also print headers and the pretty-printed body of each callback")
	return cmd
}

// demoOrder names one stream's kinds in the order the service sends them.
func demoOrder() string {
	var names []string
	for _, k := range event.StreamOrder() {
		names = append(names, string(k))
	}
	return strings.Join(names, ", ")
}

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
	for _, k := range event.StreamOrder() {
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
		return writeError("--save", err)
	}
	pr := newRequestPrinter(app, opts.Verbose)
	paths := event.FamilyPaths()
	srv, err := listen.Listen(listen.Options{
		Addr:      "127.0.0.1:0",
		Paths:     paths,
		Capture:   cw,
		OnRequest: func(r *listen.Request, _ *listen.Stats) { pr.print(r) }, //nolint:errcheck // a closed stdout shows at the end
	})
	if err != nil {
		cw.Close()
		return ioError(err)
	}
	go srv.Serve()
	base := srv.URL()

	// The prose goes where the text goes; with --output json, stdout
	// carries the records only and the prose goes to stderr.
	prose := app.Out
	if app.Output.Structured() {
		prose = app.Err
	}
	fmt.Fprintf(prose, "livecb demo: a listener on %s receives one stream's callbacks, every kind, each on its family's path, and one broken one.\n\n", base)
	client := deliver.NewClient(deliver.Policy{Timeout: 5 * time.Second, UserAgent: app.UserAgent()})
	ctx := context.Background()
	var netErr error
	for _, c := range calls {
		res := client.Do(ctx, deliver.Request{URL: base + paths[c.kind.Family()], Body: c.body}, nil)
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
	fmt.Fprintln(prose)
	fmt.Fprintf(prose, "%s: %d valid (%d with warnings), %d invalid.\n", plural(st.Callbacks, "callback"), st.Valid, st.Warned, st.Invalid)
	ok := st.Callbacks == len(calls) && st.Invalid == 1
	if ok {
		fmt.Fprintf(prose, "The INVALID record_done is the deliberately broken one: that is expected.\n")
	} else {
		fmt.Fprintf(prose, "%s expected %d callbacks with exactly 1 invalid (the broken one)\n", app.Color.Bad("Unexpected:"), len(calls))
	}
	fmt.Fprintf(prose, "The listener saved every request to %s\n\nNext:\n", path)
	run := app.command()
	next := [][2]string{
		{run + " validate " + path, "check the capture again"},
		{run + " listen --port 8080 --save capture.ndjson", "receive your own callbacks"},
		{run + " events", "the kinds and their fields"},
	}
	width := 0
	for _, n := range next {
		width = max(width, len(n[0]))
	}
	for _, n := range next {
		fmt.Fprintf(prose, "  %-*s  # %s\n", width, n[0], n[1])
	}
	if run != "livecb" {
		fmt.Fprintf(prose, "\n(livecb is not installed: 'go install ./cmd/livecb' puts it on your PATH, as $(go env GOPATH)/bin/livecb.)\n")
	}
	if !ok {
		return checkFailed
	}
	return nil
}
