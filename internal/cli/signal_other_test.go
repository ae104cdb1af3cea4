//go:build !unix

package cli

import "syscall"

// selfSignals says that a test can send a signal to its own process: not
// here (Windows has no kill(2)), so the tests of interrupts skip.
const selfSignals = false

func signalSelf(syscall.Signal) {}
