// Package cli holds livecb's cobra commands, one file per command. Each
// command turns flags into an Options struct and calls a run function that
// works on plain values and the App's streams; the engines it calls live in
// their own packages and never import cobra or viper. Shared pieces live in
// files named for what they are: streams.go (the environment), output.go
// (--output), configload.go (the config file and the environment), flags.go
// (flags shared between commands, the delivery policy's among them),
// errors.go (exit codes), printer.go (what findings and requests look
// like), help.go (help and suggestions), signals.go.
package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/livecb/livecb/internal/redact"
	"github.com/livecb/livecb/internal/route"
	"github.com/livecb/livecb/internal/source"
	"github.com/livecb/livecb/internal/term"
)

// BuildInfo is stamped at release time (see .goreleaser.yaml).
type BuildInfo struct {
	Version string
	Commit  string
	Date    string
}

// App is what every command gets: streams, output settings, configuration.
// It is filled in by the root command's pre-run from flags, environment and
// config file; run functions only read it.
type App struct {
	Streams
	Build BuildInfo
	// Output is --output: where data goes and in which format.
	Output *Output
	// Color and ErrColor colour stdout and stderr text.
	Color    *term.Palette
	ErrColor *term.Palette
	Routes   route.Table
	settings *settings
	Now      func() time.Time
}

// UserAgent names livecb and its version in requests it sends.
func (a *App) UserAgent() string { return "livecb/" + a.Build.Version }

func (a *App) errorf(format string, args ...any) {
	fmt.Fprintf(a.Err, format, args...)
}

// errLabel is "Error:", coloured when the command set colours up (before
// that, as when flags could not be parsed, plain).
func (a *App) errLabel() string {
	if a.ErrColor == nil {
		return "Error:"
	}
	return a.ErrColor.Bad("Error:")
}

// warnLabel is "Warning:", coloured on a terminal.
func (a *App) warnLabel() string {
	if a.ErrColor == nil {
		return term.NewPalette(term.ColorEnabled(a.env, a.ErrTTY, false)).Warn("Warning:")
	}
	return a.ErrColor.Warn("Warning:")
}

// Main runs livecb with args and returns the exit code.
//
// Data that could not be written to standard output (a full disk, a
// closed file) turns a verdict (0 or 1) into exit 4: every command,
// including those that go on after a failed write (listen keeps serving),
// ends by saying its output was lost.
func Main(args []string, s Streams, build BuildInfo) int {
	out := &watchedWriter{w: s.Out}
	s.Out = out
	code, app := execute(args, s, build)
	if out.err != nil && (code == ExitOK || code == ExitCheckFailed) {
		fmt.Fprintf(s.Err, "%s cannot write standard output: %s\n", app.errLabel(), source.Describe(out.err))
		return ExitIO
	}
	return code
}

// watchedWriter keeps the first error of the writer it passes writes to.
type watchedWriter struct {
	w   io.Writer
	mu  sync.Mutex
	err error
}

func (ww *watchedWriter) Write(p []byte) (int, error) {
	n, err := ww.w.Write(p)
	if err != nil {
		ww.mu.Lock()
		if ww.err == nil {
			ww.err = err
		}
		ww.mu.Unlock()
	}
	return n, err
}

func execute(args []string, s Streams, build BuildInfo) (int, *App) {
	app := &App{Streams: s, Build: build, Now: time.Now}
	app.Output, _ = newOutput("text", s.Out)
	root := newRootCmd(app)
	root.SetArgs(args)
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	cmd, err := root.ExecuteC()
	if err == nil {
		return ExitOK, app
	}
	var ee *ExitError
	if !errors.As(err, &ee) {
		// cobra's own errors: an unknown command, a missing argument.
		if strings.HasPrefix(err.Error(), "unknown command ") && cmd != nil {
			rest := args
			if found, r, ferr := cmd.Find(args); ferr == nil && found == cmd {
				rest = r
			}
			// cobra stops before parsing the flags when it finds no
			// command: the unknown word is the first that is no flag nor
			// a flag's value (`livecb --config f listne` names listne).
			if cmd.Flags().Parse(rest) == nil && cmd.Flags().NArg() > 0 {
				rest = cmd.Flags().Args()
			}
			if len(rest) > 0 {
				err = unknownCommand(cmd, rest)
			}
		}
		ee = &ExitError{Code: ExitUsage, Err: err}
	}
	if ee.Err != nil {
		fmt.Fprintf(s.Err, "%s %s\n", app.errLabel(), term.SanitizeLines(redact.String(ee.Err.Error(), redact.Display)))
		if ee.Code == ExitUsage && cmd != nil {
			if cmd == root {
				fmt.Fprintf(s.Err, "Run 'livecb --help' for the commands.\n")
			} else {
				fmt.Fprintf(s.Err, "Usage: %s\nRun '%s --help' for more.\n", cmd.UseLine(), cmd.CommandPath())
			}
		}
	}
	return ee.Code, app
}

func newRootCmd(app *App) *cobra.Command {
	var (
		configFile string
		output     string
		noColor    bool
	)
	root := &cobra.Command{
		Use:   "livecb",
		Short: "Test the HTTP callbacks of a live-video cloud service",
		Long: `livecb sends, receives, replays and validates the callbacks a live-video
cloud service POSTs to its customers (publish_started, publish_done,
record_done, snapshot, quality detection), and runs a contract-test suite
against your receiver in CI.`,
		Example: `  livecb demo                                  # see everything at work, locally
  livecb send record_done --to http://localhost:3000/cb
  livecb listen --port 8080 --save capture.ndjson
  livecb validate capture.ndjson`,
		SilenceErrors:      true,
		SilenceUsage:       true,
		DisableSuggestions: true, // made by unknownCommand, on one line
		Version:            app.Build.Version,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			app.Color = term.NewPalette(false)
			app.ErrColor = term.NewPalette(term.ColorEnabled(app.env, app.ErrTTY, noColor))
			app.settings = newSettings()
			if !silentConfig(cmd) {
				if err := loadConfig(app, cmd, configFile); err != nil {
					return err
				}
			}
			// --no-color may come from the file or the environment too.
			noColor, _ = cmd.Flags().GetBool("no-color")
			app.ErrColor = term.NewPalette(term.ColorEnabled(app.env, app.ErrTTY, noColor))
			out, err := newOutput(output, app.Out)
			if err != nil {
				return outputError(app, err)
			}
			app.Output = out
			app.Color = term.NewPalette(!out.Structured() && term.ColorEnabled(app.env, app.OutTTY, noColor))
			return nil
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&configFile, "config", "", "config `FILE` (default: ./livecb.yaml, then $XDG_CONFIG_HOME/livecb/livecb.yaml)")
	pf.StringVarP(&output, "output", "o", "text", "output `FORMAT`: "+outputNames())
	pf.BoolVar(&noColor, "no-color", false, "never colour the output (NO_COLOR and CLICOLOR=0 also work)")
	// --version without the -v cobra would give it: -v is --verbose in
	// listen and demo, and `livecb -v listen` must not print the version.
	root.Flags().Bool("version", false, "print livecb's version")
	root.SetVersionTemplate(`{{printf "livecb %s\n" .Version}}`)

	root.AddGroup(
		&cobra.Group{ID: "callbacks", Title: "Work with callbacks:"},
		&cobra.Group{ID: "spec", Title: "Know the spec:"},
	)
	for _, c := range []*cobra.Command{newSendCmd(app, nil), newListenCmd(app), newReplayCmd(app), newValidateCmd(app), newTestCmd(app), newInspectCmd(app), newDemoCmd(app)} {
		c.GroupID = "callbacks"
		root.AddCommand(c)
	}
	for _, c := range []*cobra.Command{newEventsCmd(app), newSchemaCmd(app)} {
		c.GroupID = "spec"
		root.AddCommand(c)
	}
	root.AddCommand(newVersionCmd(app), newConfigCmd(app))
	registerCompletions(root)
	setupHelp(root)
	wrapRunErrors(root)
	flagsToStderr(root, app)
	return root
}

// outputError says which setting chose an unknown format.
func outputError(app *App, err error) error {
	switch src := app.settings.prov["output"]; {
	case src == "" || src == "flag" || src == "default":
		return flagError("--output", err)
	default:
		return usageErrorf("output format from %s: %v", src, err)
	}
}

// wrapRunErrors types what commands return: an error no command typed is a
// bug in livecb (exit 5), not a user's mistake; cobra's argument checks are
// usage errors.
func wrapRunErrors(c *cobra.Command) {
	if run := c.RunE; run != nil {
		c.RunE = func(cmd *cobra.Command, args []string) error {
			err := run(cmd, args)
			var ee *ExitError
			var pe *fs.PathError
			switch {
			case err == nil || errors.As(err, &ee):
			case errors.As(err, &pe):
				// A file or a stream that could not be written or read
				// (stdout on a full disk): exit 4, in words.
				return ioError(err)
			default:
				return &ExitError{Code: ExitInternal, Err: fmt.Errorf("internal error: %v (this is a bug in livecb: please report it)", err)}
			}
			return err
		}
	}
	if args := c.Args; args != nil {
		c.Args = func(cmd *cobra.Command, a []string) error {
			if err := args(cmd, a); err != nil {
				return &ExitError{Code: ExitUsage, Err: argsError(cmd, a, err)}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		wrapRunErrors(sub)
	}
}

// Command returns livecb's command tree as a user without configuration
// sees it, for the generated reference pages and man pages (docs/).
func Command() *cobra.Command {
	app := &App{Now: time.Now}
	app.Output, _ = newOutput("text", io.Discard)
	root := newRootCmd(app)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.DisableAutoGenTag = true // no date in committed pages
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return root
}
