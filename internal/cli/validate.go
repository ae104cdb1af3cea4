package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"

	"github.com/spf13/cobra"

	"github.com/livecb/livecb/internal/capture"
	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/source"
	"github.com/livecb/livecb/internal/term"
)

// ValidateOptions are the flags of `livecb validate`.
type ValidateOptions struct {
	Files  []string
	Strict bool
	Quiet  bool
}

func newValidateCmd(app *App) *cobra.Command {
	opts := &ValidateOptions{}
	cmd := &cobra.Command{
		Use:   "validate [FILE...|-]",
		Short: "Check callback bodies against the spec",
		Long: `Check callbacks against the spec: JSON files (one callback each), NDJSON /
JSON Lines files (one callback per line), capture logs written by
'livecb listen --save', or standard input ('-' or no argument).

For each callback it prints where it is (file:line), its kind, and OK or its
findings with their JSON paths. Errors break the spec; warnings are things a
robust receiver must survive (the spec's type drift, unknown fields, legacy
names). --strict counts warnings as errors.

Exit status: 0 when no callback has an error, 1 otherwise, 4 when a file
cannot be read. Files are read as streams: memory stays flat on files of any
size.`,
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
	return cmd
}

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
		files = []string{"-"}
	}
	out := bufio.NewWriterSize(app.Out, 1<<16)
	defer out.Flush()
	enc := json.NewEncoder(out)
	var total, invalid, warned, skipped int

	for _, name := range files {
		var r io.Reader
		display := name
		if name == "-" {
			r, display = app.In, "stdin"
		} else {
			f, err := os.Open(name)
			if err != nil {
				out.Flush()
				return ioError(err)
			}
			defer f.Close()
			r = f
		}
		check := func(it source.Item) validateResult {
			res := validateResult{Source: it.Where(), File: it.File, Line: it.Line}
			switch {
			case it.Truncated:
				res.Skipped = true
				res.Valid = true
				res.Findings = event.Findings{{Severity: event.Warning, Code: event.CodeTruncated,
					Message: "the last line is cut short (no newline, not complete JSON): a file cut by a crash? skipped"}}
			case it.Broken != nil:
				res.Findings = event.Findings{{Severity: event.Error, Code: event.CodeNotJSON,
					Message: "broken record: " + it.Broken.Error()}}
			default:
				ev, fs := event.Check(it.Body, event.Options{Strict: opts.Strict})
				if ev != nil {
					res.Kind = ev.Kind
				}
				if it.Capture != nil {
					// What the listener saw of the request (a gzip
					// encoding, a 413, a wrong method) is not in the body.
					for _, f := range it.Capture.Findings {
						if capture.RequestFinding(f.Code) {
							if opts.Strict {
								f.Severity = event.Error
							}
							fs = append(fs, f)
						}
					}
				}
				res.Findings = fs
				res.Valid = !fs.HasErrors()
			}
			return res
		}
		emit := func(res validateResult) error {
			if res.Skipped {
				skipped++
			} else {
				total++
				if !res.Valid {
					invalid++
				} else if len(res.Findings) > 0 {
					warned++
				}
			}
			if opts.Quiet && len(res.Findings) == 0 {
				return nil
			}
			if app.JSON {
				if res.Findings == nil {
					res.Findings = event.Findings{}
				}
				return enc.Encode(res)
			}
			kind := string(res.Kind)
			if kind == "" {
				kind = "-"
			}
			v := verdict(app.Color, res.Findings)
			if res.Skipped {
				v = app.Color.Warn("SKIPPED")
			}
			fmt.Fprintf(out, "%s  %s  %s\n", term.Sanitize(res.Source), kind, v)
			printFindings(out, app.Color, res.Findings, "    ")
			return nil
		}
		err := checkInOrder(func(fn func(source.Item) error) error {
			_, err := source.Read(display, r, source.Options{}, fn)
			return err
		}, check, emit)
		if err != nil {
			out.Flush()
			return ioError(fmt.Errorf("%s: %w", display, err))
		}
	}
	out.Flush()
	summary := fmt.Sprintf("%s: %d valid (%d with warnings), %d invalid", plural(total, "callback"), total-invalid, warned, invalid)
	if skipped > 0 {
		summary += fmt.Sprintf(", %d truncated line(s) skipped", skipped)
	}
	fmt.Fprintln(app.Err, summary)
	if invalid > 0 {
		return checkFailed
	}
	return nil
}

// checkInOrder runs check on every item read, on all cores, and hands the
// results to emit in input order. Items travel in batches so the
// hand-offs cost little next to the checks; at most 2 batches per core are
// in flight, so memory stays flat however long the input.
func checkInOrder(read func(func(source.Item) error) error, check func(source.Item) validateResult, emit func(validateResult) error) error {
	const batchSize = 256
	type batch struct {
		items   []source.Item
		results []validateResult
		done    chan struct{}
	}
	workers := runtime.GOMAXPROCS(0)
	jobs := make(chan *batch)
	order := make(chan *batch, 2*workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range jobs {
				b.results = make([]validateResult, len(b.items))
				for i, it := range b.items {
					b.results[i] = check(it)
				}
				close(b.done)
			}
		}()
	}
	stop := make(chan struct{}) // closed when emit fails: the reader stops
	readErr := make(chan error, 1)
	go func() {
		defer close(order)
		defer close(jobs)
		cur := &batch{done: make(chan struct{})}
		send := func() bool {
			select {
			case order <- cur:
			case <-stop:
				return false
			}
			jobs <- cur
			cur = &batch{done: make(chan struct{})}
			return true
		}
		err := read(func(it source.Item) error {
			cur.items = append(cur.items, it)
			if len(cur.items) == batchSize && !send() {
				return errStopped
			}
			return nil
		})
		if err == nil && len(cur.items) > 0 {
			send()
		}
		if err == errStopped {
			err = nil
		}
		readErr <- err
	}()
	var emitErr error
	for b := range order {
		<-b.done
		for _, res := range b.results {
			if emitErr == nil {
				if emitErr = emit(res); emitErr != nil {
					close(stop)
				}
			}
		}
	}
	wg.Wait()
	if err := <-readErr; err != nil {
		return err
	}
	return emitErr
}

var errStopped = errors.New("stopped")
