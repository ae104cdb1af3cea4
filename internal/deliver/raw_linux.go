//go:build linux && !race

package deliver

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// rawRead and rawWrite are read(2) and write(2) on descriptors that never
// block (rawPoll, an epoll_wait(2) that does not wait, is their kin): made
// without telling the scheduler, as a system call that may block is. The
// scheduler's bookkeeping around each was a sixth of a loop's own CPU, and
// a write to loopback that ran past 20 µs (it carries the receiver's side
// of the delivery) could have the runtime hand the loop's processor to
// another thread.
func rawRead(fd int, p []byte) (int, error) {
	n, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func rawWrite(fd int, p []byte) (int, error) {
	n, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
