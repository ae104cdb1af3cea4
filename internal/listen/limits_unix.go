//go:build unix

package listen

import "syscall"

// openFilesLimit is the process's limit of open files (RLIMIT_NOFILE; Go
// raised the soft limit to the hard one at start).
func openFilesLimit() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur > 1<<20 {
		return 1 << 20
	}
	return int(rl.Cur)
}
