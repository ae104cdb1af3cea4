//go:build unix

package cli

import (
	"os"
	"syscall"
)

// selfSignals says that a test can send a signal to its own process.
const selfSignals = true

// signalSelf sends sig to this process, as a user's Ctrl-C or kill does.
func signalSelf(sig syscall.Signal) {
	syscall.Kill(os.Getpid(), sig) //nolint:errcheck // (kills the test if not caught)
}
