package source

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"

	"github.com/dustin/go-humanize"
)

// TooLargeError is a record longer than Options.MaxRecord. It is the Broken
// error of the item that stands for the record, which was not kept: reading
// went on after it.
type TooLargeError struct {
	File string
	Line int // 1-based line where the record starts
	// Offset is the byte offset in the file where the record starts.
	Offset int64
	// Entry is the JSON Pointer of the record in a HAR file
	// ("/log/entries/3"); "" for other formats.
	Entry string
	// Read is how many bytes of the record were read before it was
	// refused: more than Limit, and all of it when it ended with its line.
	Read  int64
	Limit int64
}

// Error says what the record is and how large, without the file and line,
// which the item that carries it shows, as for any broken record.
func (e *TooLargeError) Error() string {
	what := "record"
	if e.Entry != "" {
		what = "HAR entry " + e.Entry
	}
	return fmt.Sprintf("%s at byte %d is over the %s limit (%s bytes read)",
		what, e.Offset, humanize.IBytes(uint64(e.Limit)), humanize.Comma(e.Read))
}

// FileError is an input that could not be opened or read. Its message says
// what went wrong in a few words, with the fix when there is an obvious one,
// instead of the system call's text.
type FileError struct {
	File string
	Err  error // the underlying error, often an *fs.PathError
}

func (e *FileError) Error() string {
	if errors.Is(e.Err, fs.ErrNotExist) {
		return e.File + ": " + Describe(e.Err) + " (- reads standard input)"
	}
	var errno syscall.Errno
	if errors.As(e.Err, &errno) && errno == syscall.EISDIR {
		return e.File + ": is a directory: name the files in it (" + e.File + "/*.ndjson)"
	}
	return e.File + ": " + Describe(e.Err)
}

// Describe says what is wrong in a failed file operation in a user's
// words ("no such file: check the path"), without the operation and path
// Go puts in front ("open x: no such file or directory"). livecb says every
// file error through it.
func Describe(err error) string {
	var errno syscall.Errno
	errors.As(err, &errno)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "no such file: check the path"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	case errno == syscall.EISDIR:
		return "is a directory, not a file"
	case errno == syscall.ENOSPC:
		return "no space left on the device"
	case errno == syscall.EMFILE || errno == syscall.ENFILE:
		return "too many open files: raise the limit (ulimit -n)"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func (e *FileError) Unwrap() error { return e.Err }
