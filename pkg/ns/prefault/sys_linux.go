//go:build linux && (amd64 || arm64)

package prefault

import "unsafe"

// rawSyscall6 is syscall.RawSyscall6 (which syscall exports for linkname):
// calling it this way keeps syscall out of this package's imports, so that
// Go initialises this package before any other of the program's, whose
// heap and code faults are then the cheaper ones. A raw call does not tell
// the scheduler it may block; during initialisation nothing else runs.
//
//go:linkname rawSyscall6 syscall.RawSyscall6
func rawSyscall6(trap, a1, a2, a3, a4, a5, a6 uintptr) (r1, r2, errno uintptr)

const (
	atFDCWD  = ^uintptr(99) // AT_FDCWD, -100
	oRDONLY  = 0
	oCLOEXEC = 0o2000000
	eINTR    = 4
)

// openRead opens path (NUL-terminated) read-only.
func openRead(path string) (int, bool) {
	r, _, e := rawSyscall6(sysOpenat, atFDCWD, uintptr(unsafe.Pointer(unsafe.StringData(path))), oRDONLY|oCLOEXEC, 0, 0, 0)
	return int(r), e == 0
}

// read reads once into b, again after an interrupt.
func read(fd int, b []byte) int {
	for {
		r, _, e := rawSyscall6(sysRead, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), 0, 0, 0)
		if e == eINTR {
			continue
		}
		if e != 0 {
			return -1
		}
		return int(r)
	}
}

func closeFD(fd int) { rawSyscall6(sysClose, uintptr(fd), 0, 0, 0, 0, 0) }

func mincore(addr, length uintptr, vec []byte) bool {
	_, _, e := rawSyscall6(sysMincore, addr, length, uintptr(unsafe.Pointer(unsafe.SliceData(vec))), 0, 0, 0)
	return e == 0
}

func madvise(addr, length uintptr, advice int) {
	rawSyscall6(sysMadvise, addr, length, uintptr(advice), 0, 0, 0)
}

// pread reads into b at offset off, again after an interrupt.
func pread(fd int, b []byte, off int64) int {
	for {
		r, _, e := rawSyscall6(sysPread64, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), uintptr(off), 0, 0)
		if e == eINTR {
			continue
		}
		if e != 0 {
			return -1
		}
		return int(r)
	}
}
