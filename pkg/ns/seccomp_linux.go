package ns

import (
	"encoding/binary"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// installSeccomp puts the filter on this thread, the one that execs: the
// container's process and everything it starts inherit it (the other
// threads of the init step end at execve). Without no_new_privs this needs
// CAP_SYS_ADMIN.
func installSeccomp(p *seccompProgram) error {
	if p == nil {
		return nil
	}
	n := len(p.Filter) / 8
	if n == 0 || n > bpfMaxInsns || len(p.Filter)%8 != 0 {
		return fmt.Errorf("install seccomp filter: %d bytes is no BPF program", len(p.Filter))
	}
	filter := make([]unix.SockFilter, n)
	for i := range filter {
		b := p.Filter[8*i:]
		filter[i] = unix.SockFilter{Code: binary.NativeEndian.Uint16(b), Jt: b[2], Jf: b[3], K: binary.NativeEndian.Uint32(b[4:])}
	}
	prog := unix.SockFprog{Len: uint16(n), Filter: &filter[0]}
	if _, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(p.Flags), uintptr(unsafe.Pointer(&prog))); e != 0 {
		return fmt.Errorf("install seccomp filter: %w", e)
	}
	return nil
}
