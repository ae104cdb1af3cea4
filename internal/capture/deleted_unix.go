//go:build unix

package capture

import (
	"os"
	"syscall"
)

// deleted reports whether the open file has no name left.
func deleted(f *os.File) bool {
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Nlink == 0
}
