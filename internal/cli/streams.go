package cli

import (
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/livecb/livecb/internal/term"
)

// Streams is everything a command reads from or writes to outside the
// process: the standard streams, whether each is a terminal, the
// environment and the per-user config directory. Commands read nothing
// from os directly, so that a test's environment is the one it passes in,
// whatever the shell that runs `go test` exports.
type Streams struct {
	In     io.Reader
	Out    io.Writer
	Err    io.Writer
	InTTY  bool
	OutTTY bool
	ErrTTY bool
	// OutNeverWaits and ErrNeverWaits say that writing to Out or Err never
	// waits for a reader (term.NeverWaits: a file, not a pipe or a
	// terminal).
	OutNeverWaits bool
	ErrNeverWaits bool
	// Getenv reads a variable of the environment; nil is an empty one.
	Getenv func(string) string
	// Environ lists the environment as KEY=value (for the commands livecb
	// runs, such as test --verify-cmd); nil is an empty one.
	Environ func() []string
	// Program is how the user ran livecb, for the commands livecb suggests:
	// "livecb", or "go run ./cmd/livecb" when it was built by go run (and
	// is not on the PATH). "" means "livecb".
	Program string
}

// StdStreams returns the process's streams and environment.
func StdStreams() Streams {
	return Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr,
		InTTY: term.IsTerminal(os.Stdin), OutTTY: term.IsTerminal(os.Stdout), ErrTTY: term.IsTerminal(os.Stderr),
		OutNeverWaits: term.NeverWaits(os.Stdout), ErrNeverWaits: term.NeverWaits(os.Stderr),
		Getenv: os.Getenv, Environ: os.Environ, Program: program()}
}

// program tells a binary that go run built (in a go-build temporary
// directory) from an installed one.
func program() string {
	exe, err := os.Executable()
	if err == nil && strings.Contains(filepath.ToSlash(exe), "/go-build") {
		if _, err := os.Stat(filepath.Join("cmd", "livecb")); err == nil {
			return "go run ./cmd/livecb"
		}
	}
	return "livecb"
}

// command is how to run livecb in a suggested command line.
func (s Streams) command() string {
	if s.Program == "" {
		return "livecb"
	}
	return s.Program
}

// env reads a variable through the streams.
func (s Streams) env(name string) string {
	if s.Getenv == nil {
		return ""
	}
	return s.Getenv(name)
}

// environ is the environment as KEY=value.
func (s Streams) environ() []string {
	if s.Environ == nil {
		return nil
	}
	return s.Environ()
}

// userConfigDir is os.UserConfigDir read through the streams' environment:
// $XDG_CONFIG_HOME, else ~/.config (Library/Application Support on macOS,
// %AppData% on Windows). "" when the environment names none.
func (s Streams) userConfigDir() string {
	switch runtime.GOOS {
	case "windows":
		return s.env("AppData")
	case "darwin", "ios":
		if home := s.env("HOME"); home != "" {
			return filepath.Join(home, "Library", "Application Support")
		}
		return ""
	}
	if dir := s.env("XDG_CONFIG_HOME"); filepath.IsAbs(dir) {
		return dir
	}
	if home := s.env("HOME"); home != "" {
		return filepath.Join(home, ".config")
	}
	return ""
}
