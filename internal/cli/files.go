package cli

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"

	"github.com/livecb/livecb/internal/source"
)

// writeFileAtomic writes data to a temporary file beside path and renames it,
// so that a script polling for path never reads it half written.
func writeFileAtomic(path string, data []byte) error {
	// Errors name path, not the temporary file, which the user never named.
	fail := func(op string, err error, tmp *os.File) error {
		if tmp != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
		var pe *os.PathError
		var le *os.LinkError
		switch {
		case errors.As(err, &pe):
			err = pe.Err
		case errors.As(err, &le):
			err = le.Err
		}
		return &os.PathError{Op: op, Path: path, Err: err}
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return fail("create", syscall.EISDIR, nil)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fail("create", err, nil)
	}
	// A report or a ready file, as os.Create makes them (CreateTemp's 0600
	// is for the capture log, which holds secrets as received).
	if err := f.Chmod(0o644); err != nil {
		return fail("create", err, f)
	}
	if _, err := f.Write(data); err != nil {
		return fail("write", err, f)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return fail("write", err, nil)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return fail("rename", err, nil)
	}
	return nil
}

// checkWritable fails when path cannot be written, without leaving a new
// empty file behind: a report is checked before a run, written after.
func checkWritable(path string) error {
	if _, err := os.Stat(path); err == nil {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		return f.Close()
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".check*")
	if err != nil {
		return &os.PathError{Op: "create", Path: path, Err: errors.Unwrap(err)}
	}
	f.Close()
	return os.Remove(f.Name())
}

// inputs are the files a command reads callbacks from (validate, replay,
// inspect): each FILE, and standard input for "-" (once). A missing file
// is an error now, before anything is read or sent.
func inputs(app *App, files []string) ([]source.Input, error) {
	var in []source.Input
	stdin := 0
	for _, name := range files {
		if name == "-" {
			if stdin++; stdin > 1 {
				return nil, usageErrorf("standard input (-) can be read only once")
			}
			in = append(in, source.Stream("stdin", app.In))
			continue
		}
		if _, err := os.Stat(name); err != nil {
			return nil, ioError(&source.FileError{File: name, Err: err})
		}
		in = append(in, source.File(name))
	}
	return in, nil
}
