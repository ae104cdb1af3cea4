package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/livecb/livecb/internal/check"
	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/source"
	"github.com/livecb/livecb/internal/term"
)

// ValidateOptions are the flags of `livecb validate`.
type ValidateOptions struct {
	Files     []string
	Strict    bool
	Quiet     bool
	MaxRecord int64
}

func newValidateCmd(app *App) *cobra.Command {
	opts := &ValidateOptions{}
	cmd := &cobra.Command{
		Use:   "validate [FILE...|-]",
		Short: "Check callback bodies against the spec",
		Long: `Check callbacks against the spec: JSON files (one callback each), NDJSON /
JSON Lines files (one callback per line), capture logs written by
'livecb listen --save', HAR files, or standard input ('-', or no argument
when it is not a terminal).

For each callback it prints where it is (file:line), its kind, and OK or its
findings with their JSON paths. Errors break the spec; warnings are things a
robust receiver must survive (the spec's type drift, unknown fields, legacy
names). --strict counts warnings as errors.

Exit status: 0 when no callback has an error, 1 otherwise or when a file
holds no callback at all, 4 when a file cannot be read. Files are read as
streams: memory stays flat on files of any size. A record larger than
--max-record (a line, a whole JSON file, a HAR entry) is an error, and is
skipped without being read into memory.`,
		Example: `  livecb validate fixtures/*.json
  livecb validate capture.ndjson --quiet
  curl -s https://example.com/cb.json | livecb validate -
  livecb validate --strict --output json body.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Files = args
			return validateRun(app, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Strict, "strict", false, "count warnings as errors")
	cmd.Flags().BoolVarP(&opts.Quiet, "quiet", "q", false, "print only callbacks with findings")
	maxRecordVar(cmd.Flags(), &opts.MaxRecord)
	return cmd
}

// validateResult is one line of `validate --output json`.
type validateResult struct {
	Source   string         `json:"source"`
	File     string         `json:"file"`
	Line     int            `json:"line"`
	Kind     event.Kind     `json:"kind,omitempty"`
	Valid    bool           `json:"valid"`
	Skipped  bool           `json:"skipped,omitempty"`
	Findings event.Findings `json:"findings"`
}

func validateRun(app *App, opts *ValidateOptions) error {
	files := opts.Files
	if len(files) == 0 {
		if app.InTTY {
			return usageErrorf("no FILE given, and standard input is a terminal: name the files to check, or pipe callbacks in (livecb validate - < capture.ndjson)")
		}
		files = []string{"-"}
	}
	inputs, err := inputs(app, files)
	if err != nil {
		return err
	}
	// Checking allocates a tree per callback that dies at once: collected
	// at 4x heap growth, validate spends a fifth less time (bench/README.md).
	defer tuneGC(app)()

	out := newTimedBuffer(app.Out, stdoutFlushEvery)
	defer out.Close()
	app.Output.SetWriter(out)
	emit := func(r check.Result) error {
		if r.TooLarge != nil {
			// The engine does not know the flag's name.
			for i, f := range r.Findings {
				if f.Code == check.CodeTooLarge {
					r.Findings[i].Message += ": raise --max-record to read it"
				}
			}
		}
		if opts.Quiet && len(r.Findings) == 0 {
			return nil
		}
		res := validateResult{Source: r.Source, File: r.File, Line: r.Line, Kind: r.Kind,
			Valid: r.Valid, Skipped: r.Skipped, Findings: r.Findings}
		if app.Output.Structured() {
			if res.Findings == nil {
				res.Findings = event.Findings{}
			}
			return app.Output.Write(res)
		}
		kind := string(res.Kind)
		if kind == "" {
			kind = "-"
		}
		v := verdict(app.Color, res.Findings)
		if res.Skipped {
			v = app.Color.Warn("SKIPPED")
		}
		fmt.Fprintf(out, "%s  %-*s  %s\n", term.Sanitize(res.Source), kindWidth, kind, v)
		printFindings(out, app.Color, res.Findings, "    ")
		return nil
	}
	sum, err := check.Run(inputs, check.Options{Strict: opts.Strict, Read: source.Options{MaxRecord: opts.MaxRecord}}, emit)
	out.Close()
	if err != nil {
		// A *source.FileError says what is wrong with the file in its own
		// words; the rest are failures to write the output.
		return ioError(err)
	}
	if sum.Callbacks > 0 || sum.Skipped > 0 || len(sum.Empty) == 0 {
		summary := fmt.Sprintf("%s: %d valid (%d with warnings), %d invalid", plural(sum.Callbacks, "callback"),
			sum.Callbacks-sum.Invalid, sum.Warned, sum.Invalid)
		if sum.Skipped > 0 {
			summary += fmt.Sprintf(", %d truncated line(s) skipped", sum.Skipped)
		}
		fmt.Fprintln(app.Err, summary)
	}
	if len(sum.Empty) > 0 {
		names := make([]string, len(sum.Empty))
		for i, n := range sum.Empty {
			names[i] = term.Sanitize(n)
		}
		return &ExitError{Code: ExitCheckFailed, Err: fmt.Errorf("no callbacks in %s (empty, or only blank lines): nothing to check",
			strings.Join(names, ", "))}
	}
	if sum.Invalid > 0 {
		return checkFailed
	}
	return nil
}
