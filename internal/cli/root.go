// Package cli holds livecb's cobra commands, one file per command. Each
// command turns flags into an Options struct and calls a run function that
// works on plain values and the App's streams; the engines it calls live in
// their own packages and never import cobra or viper.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/livecb/livecb/internal/route"
	"github.com/livecb/livecb/internal/term"
)

// Exit codes, the same for every command (documented in the README).
const (
	ExitOK          = 0   // everything held
	ExitCheckFailed = 1   // a callback was invalid or an expectation failed
	ExitUsage       = 2   // bad flag, argument, kind or config value
	ExitNetwork     = 3   // the receiver could not be reached (refused, DNS, timeout, TLS)
	ExitIO          = 4   // a file could not be read or written, a port could not be bound
	ExitInterrupted = 130 // stopped by SIGINT before finishing
)

// ExitError carries an exit code. A nil Err means the failure was already
// reported (e.g. findings printed) and only the code remains.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// usageErrorf is a usage error (exit 2) with a message that says the fix.
func usageErrorf(format string, args ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, args...)}
}

// checkFailed is exit 1 after the failure was reported.
var checkFailed = &ExitError{Code: ExitCheckFailed}

func ioError(err error) error { return &ExitError{Code: ExitIO, Err: err} }

// Streams are the standard streams and environment a command works with.
type Streams struct {
	In     io.Reader
	Out    io.Writer
	Err    io.Writer
	OutTTY bool
	ErrTTY bool
	Getenv func(string) string
}

// StdStreams returns the process's streams.
func StdStreams() Streams {
	return Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr,
		OutTTY: term.IsTerminal(os.Stdout), ErrTTY: term.IsTerminal(os.Stderr), Getenv: os.Getenv}
}

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
	// JSON is true with --output json.
	JSON bool
	// Color and ErrColor colour stdout and stderr text.
	Color    *term.Palette
	ErrColor *term.Palette
	Routes   route.Table
	// ConfigFile is the file the configuration came from ("" for none).
	ConfigFile string
	// Provenance says where each flag value of the running command came
	// from, by config key: "flag", "environment LIVECB_X", "file PATH" or
	// "default" (for `livecb config show`).
	Provenance map[string]string
	// settings is the merged file and environment configuration.
	settings *viper.Viper
	Now      func() time.Time
}

// UserAgent names livecb and its version in requests it sends.
func (a *App) UserAgent() string { return "livecb/" + a.Build.Version }

func (a *App) errorf(format string, args ...any) {
	fmt.Fprintf(a.Err, format, args...)
}

// Main runs livecb with args and returns the exit code.
func Main(args []string, s Streams, build BuildInfo) int {
	app := &App{Streams: s, Build: build, Now: time.Now}
	root := newRootCmd(app)
	root.SetArgs(args)
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	cmd, err := root.ExecuteC()
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if !errors.As(err, &ee) {
		// cobra's own errors: unknown command or flag, wrong number of
		// arguments.
		ee = &ExitError{Code: ExitUsage, Err: err}
	}
	if ee.Err != nil {
		palette := app.ErrColor
		if palette == nil {
			palette = term.NewPalette(false)
		}
		fmt.Fprintf(s.Err, "%s %s\n", palette.Bad("Error:"), ee.Err)
		if ee.Code == ExitUsage && cmd != nil {
			fmt.Fprintf(s.Err, "Usage: %s\nRun '%s --help' for more.\n", cmd.UseLine(), cmd.CommandPath())
		}
	}
	return ee.Code
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
		SilenceErrors: true,
		SilenceUsage:  true,
		Version:       app.Build.Version,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if err := loadConfig(app, cmd, configFile); err != nil {
				return err
			}
			switch output {
			case "text":
			case "json":
				app.JSON = true
			default:
				return usageErrorf("--output %q: use text or json", output)
			}
			app.Color = term.NewPalette(!app.JSON && term.ColorEnabled(app.Getenv, app.OutTTY, noColor))
			app.ErrColor = term.NewPalette(term.ColorEnabled(app.Getenv, app.ErrTTY, noColor))
			return nil
		},
	}
	root.SetVersionTemplate(`{{printf "livecb %s\n" .Version}}`)
	pf := root.PersistentFlags()
	pf.StringVar(&configFile, "config", "", "config file (default: ./livecb.yaml, then $XDG_CONFIG_HOME/livecb/livecb.yaml)")
	pf.StringVarP(&output, "output", "o", "text", "output format: text or json")
	pf.BoolVar(&noColor, "no-color", false, "never colour the output (NO_COLOR and CLICOLOR=0 also work)")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &ExitError{Code: ExitUsage, Err: err}
	})

	root.AddGroup(
		&cobra.Group{ID: "callbacks", Title: "Work with callbacks:"},
		&cobra.Group{ID: "spec", Title: "Know the spec:"},
	)
	for _, c := range []*cobra.Command{newSendCmd(app), newListenCmd(app), newReplayCmd(app), newValidateCmd(app), newTestCmd(app), newInspectCmd(app), newDemoCmd(app)} {
		c.GroupID = "callbacks"
		root.AddCommand(c)
	}
	for _, c := range []*cobra.Command{newEventsCmd(app), newSchemaCmd(app)} {
		c.GroupID = "spec"
		root.AddCommand(c)
	}
	root.AddCommand(newVersionCmd(app), newConfigCmd(app))
	registerCompletions(root)
	wrapRunErrors(root)
	return root
}

// wrapRunErrors makes any untyped error returned by a command's RunE an I/O
// error (exit 4), so that only cobra's own parsing errors are usage errors.
func wrapRunErrors(c *cobra.Command) {
	if run := c.RunE; run != nil {
		c.RunE = func(cmd *cobra.Command, args []string) error {
			err := run(cmd, args)
			var ee *ExitError
			if err != nil && !errors.As(err, &ee) {
				return ioError(err)
			}
			return err
		}
	}
	if args := c.Args; args != nil {
		c.Args = func(cmd *cobra.Command, a []string) error {
			if err := args(cmd, a); err != nil {
				return &ExitError{Code: ExitUsage, Err: err}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		wrapRunErrors(sub)
	}
}

// loadConfig reads the config file and LIVECB_* environment variables and
// gives every flag the user did not set its configured value, so that the
// precedence is flag > environment > file > default. A command's flag
// --timeout reads the key "<command>.timeout" (env LIVECB_<COMMAND>_TIMEOUT);
// the global flags read "output" and "no-color".
func loadConfig(app *App, cmd *cobra.Command, explicit string) error {
	v := viper.New()
	v.SetConfigType("yaml")
	v.SetEnvPrefix("LIVECB")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_", "-", "_"))
	v.AutomaticEnv()
	app.settings = v
	app.Provenance = map[string]string{}
	if skipConfig(cmd) {
		return nil
	}

	file := explicit
	if file == "" {
		file = app.Getenv("LIVECB_CONFIG")
	}
	if file != "" {
		if _, err := os.Stat(file); err != nil {
			return usageErrorf("config file %s: %v", file, errors.Unwrap(err))
		}
	} else {
		for _, cand := range defaultConfigFiles() {
			if _, err := os.Stat(cand); err == nil {
				file = cand
				break
			}
		}
	}
	if file != "" {
		v.SetConfigFile(file)
		if err := v.ReadInConfig(); err != nil {
			return usageErrorf("config file %s: %v", file, err)
		}
		app.ConfigFile = file
		if err := checkConfigKeys(cmd.Root(), v, file); err != nil {
			return err
		}
	}

	var apply error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if apply != nil || f.Name == "config" || f.Name == "help" {
			return
		}
		key := configKey(cmd, f)
		app.Provenance[key] = provenance(app, v, key, f.Changed)
		if f.Changed || !v.IsSet(key) {
			return
		}
		var err error
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			err = sv.Replace(v.GetStringSlice(key))
		} else {
			err = f.Value.Set(v.GetString(key))
		}
		if err != nil {
			apply = usageErrorf("config %s (from %s): %v", key, sourceOf(app, key), err)
		}
	})
	if apply != nil {
		return apply
	}
	// Unknown keys in a route are errors too (a misspelt "enabled" must not
	// leave a family switched on).
	strict := func(c *mapstructure.DecoderConfig) { c.ErrorUnused = true }
	if err := v.UnmarshalKey("routes", &app.Routes, strict); err != nil {
		return usageErrorf("config file %s: routes: %s", file, flattenDecodeError(err))
	}
	if err := app.Routes.Check(); err != nil {
		return usageErrorf("%v (in %s)", err, file)
	}
	return nil
}

func sourceOf(app *App, key string) string {
	env := "LIVECB_" + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(key))
	if app.Getenv(env) != "" {
		return "environment " + env
	}
	return app.ConfigFile
}

// configKey is the config key of a flag: global flags by their name, a
// command's own flags under the command's path (e.g. "send.timeout").
func configKey(cmd *cobra.Command, f *pflag.Flag) string {
	if cmd.Root().PersistentFlags().Lookup(f.Name) == f {
		return f.Name
	}
	path := strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
	return strings.ReplaceAll(path, " ", ".") + "." + f.Name
}

func defaultConfigFiles() []string {
	files := []string{"livecb.yaml"}
	if dir, err := os.UserConfigDir(); err == nil {
		files = append(files, filepath.Join(dir, "livecb", "livecb.yaml"))
	}
	return files
}
