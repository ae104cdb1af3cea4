package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/livecb/livecb/internal/deliver"
	"github.com/livecb/livecb/internal/redact"
	"github.com/livecb/livecb/internal/source"
)

// Exit codes, the same for every command (the README's table).
const (
	ExitOK          = 0   // everything held
	ExitCheckFailed = 1   // a callback was invalid, an answer or an expectation was wrong
	ExitUsage       = 2   // bad flag, argument, kind or config value
	ExitNetwork     = 3   // the receiver could not be reached (refused, DNS, timeout, TLS)
	ExitIO          = 4   // a file could not be read or written, a port could not be bound
	ExitInternal    = 5   // a bug in livecb
	ExitInterrupted = 130 // stopped by SIGINT or SIGTERM before finishing
)

// ExitError carries an exit code. A nil Err means the failure was already
// reported (findings printed, a summary that says FAIL) and only the code
// remains.
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

// flagError is a usage error about one flag: the engine's words, with the
// flag's name added once.
func flagError(flag string, err error) error {
	var ee *ExitError
	if errors.As(err, &ee) {
		err = ee.Err
	}
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%s: %w", flag, err)}
}

// checkFailed is exit 1 after the failure was reported.
var checkFailed = &ExitError{Code: ExitCheckFailed}

// interrupted is exit 130 after what was done was reported.
var interrupted = &ExitError{Code: ExitInterrupted}

// ioError is exit 4, with a file error said in words.
func ioError(err error) error {
	return &ExitError{Code: ExitIO, Err: fileError(err)}
}

// writeError is ioError for the file a flag names to be written: Go says
// "open" either way, and the user is told it could not be written.
func writeError(flag string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Op == "open" {
		err = &fs.PathError{Op: "create", Path: pe.Path, Err: pe.Err}
	}
	return ioError(fmt.Errorf("%s: %w", flag, err))
}

// fileError says a failed file operation in a user's words: the file, then
// what is wrong, instead of Go's "open x: no such file or directory".
func fileError(err error) error {
	var fe *source.FileError
	var pe *fs.PathError
	if errors.As(err, &fe) || !errors.As(err, &pe) {
		return err // (a reader's FileError says it in words already)
	}
	what := source.Describe(pe)
	verb := "cannot read"
	switch pe.Op {
	case "write", "create", "mkdir", "rename", "truncate", "sync", "close":
		verb = "cannot write"
	}
	if verb == "cannot write" && errors.Is(pe, fs.ErrNotExist) {
		what = fmt.Sprintf("the directory %s does not exist: create it, or check the path", filepath.Dir(pe.Path))
	}
	msg := fmt.Sprintf("%s %s: %s", verb, pe.Path, what)
	// The caller's prefix (a flag name) stays in front.
	if outer := err.Error(); outer != pe.Error() && strings.HasSuffix(outer, pe.Error()) {
		msg = strings.TrimSuffix(outer, pe.Error()) + msg
	}
	return errors.New(msg)
}

// causeHint is what the CLI adds to deliver.Explain's words: the flag that
// changes the outcome.
func causeHint(cause deliver.Cause, timeoutFlag string) string {
	switch cause {
	case deliver.CauseTimeout:
		return fmt.Sprintf(" (%s)", timeoutFlag)
	case deliver.CauseTLS:
		return ": check the URL's scheme, or pass --insecure for a self-signed certificate"
	}
	return ""
}

// unreachable is the error of a callback that got no complete answer, with
// what to check: exit 3 when the network is why (refused, DNS, TLS, a
// timeout, a connection cut), exit 1 when an answer came that no sender
// can take (larger than --max-response, malformed): the receiver was
// reached and answered wrong.
func unreachable(what, url string, cause deliver.Cause, err error, timeout time.Duration, timeoutFlag string) error {
	msg := fmt.Sprintf("could not deliver %s to %s: %s", what, redact.String(url, redact.Display), deliver.Explain(cause, err, timeout))
	code := ExitNetwork
	switch cause {
	case deliver.CauseTooLarge, deliver.CauseMalformed, deliver.CauseRedirect:
		code = ExitCheckFailed // the receiver answered, with what no sender takes
	}
	msg += causeHint(cause, timeoutFlag)
	return &ExitError{Code: code, Err: errors.New(msg)}
}
