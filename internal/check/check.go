// Package check runs event validation over inputs: it reads callbacks
// through internal/source, checks each through internal/event on all cores,
// and hands the verdicts back in input order, with what a capture log knew
// of each request kept. It is `livecb validate` without the command line:
// rendering is the caller's business.
package check

import (
	"errors"

	"github.com/livecb/livecb/internal/capture"
	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/source"
)

// Options configure a run.
type Options struct {
	// Strict counts warnings as errors.
	Strict bool
	// Read bounds what is read of each record.
	Read source.Options
}

// CodeTooLarge is the finding on a record over the read limit, which was
// not read and so not checked.
const CodeTooLarge event.Code = "record_too_large"

// Result is the verdict on one record.
type Result struct {
	Source string // file:line
	File   string
	Line   int
	Kind   event.Kind // "" when the body could not be classified
	Valid  bool
	// Skipped marks a cut last line (a file cut by a crash): not checked,
	// and not counted as a callback.
	Skipped  bool
	Findings event.Findings
	// TooLarge is set when the record was over Options.Read.MaxRecord; its
	// finding has the code CodeTooLarge.
	TooLarge *source.TooLargeError
}

// Summary counts a run.
type Summary struct {
	Callbacks int // records checked, skipped ones not included
	Invalid   int // callbacks with an error, records too large included
	Warned    int // valid callbacks with warnings
	Skipped   int // cut last lines
	TooLarge  int // records over the read limit
	// Empty lists the inputs that hold no callback at all (empty, or only
	// blank lines): nothing in them was checked.
	Empty []string
}

// Failed reports whether the run found an invalid callback or an input
// with nothing to check.
func (s Summary) Failed() bool { return s.Invalid > 0 || len(s.Empty) > 0 }

func (s *Summary) add(r Result) {
	switch {
	case r.Skipped:
		s.Skipped++
		return
	case r.TooLarge != nil:
		s.TooLarge++
	}
	s.Callbacks++
	if !r.Valid {
		s.Invalid++
	} else if len(r.Findings) > 0 {
		s.Warned++
	}
}

// Run checks every record of inputs, read one input after the other, each
// opened only when its turn comes and closed when it is read. emit is called
// once per record, in input order, from the goroutine that called Run; its
// error stops the run and is returned. Memory is bounded by the read limit,
// whatever the inputs. The error is emit's or an input's (a
// *source.FileError for one that could not be opened or read); results of
// the records read before it are emitted first.
func Run(inputs []source.Input, opts Options, emit func(Result) error) (Summary, error) {
	var sum Summary
	var empty []string
	read := func(yield func(source.Item) error) error {
		for _, in := range inputs {
			st, err := in.Read(opts.Read, yield)
			if err != nil {
				return err
			}
			if st.Items == 0 {
				empty = append(empty, in.Name)
			}
		}
		return nil
	}
	// Items in flight weigh what they hold; two records at the limit may be
	// checked at once.
	err := inOrder(read, weight, 2*opts.Read.Limit(), func(it source.Item) Result { return verdict(it, opts) },
		func(r Result) error {
			sum.add(r)
			return emit(r)
		})
	sum.Empty = empty
	return sum, err
}

// weight is the memory an item holds.
func weight(it source.Item) int64 {
	n := int64(len(it.Body))
	if it.Capture != nil {
		n += int64(len(it.Capture.Body))
	}
	return n
}

// verdict checks one record.
func verdict(it source.Item, opts Options) Result {
	res := Result{Source: it.Where(), File: it.File, Line: it.Line}
	var tooLarge *source.TooLargeError
	switch {
	case it.Truncated:
		res.Skipped = true
		res.Valid = true
		res.Findings = event.Findings{{Severity: event.Warning, Code: event.CodeTruncated,
			Message: "the last line is cut short (no newline, not complete JSON): a file cut by a crash? skipped"}}
	case errors.As(it.Broken, &tooLarge):
		res.TooLarge = tooLarge
		res.Findings = event.Findings{{Severity: event.Error, Code: CodeTooLarge,
			Message: tooLarge.Error() + "; not checked"}}
	case it.Broken != nil:
		res.Findings = event.Findings{{Severity: event.Error, Code: event.CodeNotJSON,
			Message: "broken record: " + it.Broken.Error()}}
	default:
		ev, fs := event.Check(it.Body, event.Options{Strict: opts.Strict})
		if ev != nil {
			res.Kind = ev.Kind
		}
		if it.Capture != nil {
			// What the listener saw of the request (a gzip encoding, a
			// 413, a wrong method) is not in the body.
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
