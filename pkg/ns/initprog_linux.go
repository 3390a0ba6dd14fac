package ns

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sealedProgram is a sealed memfd holding prog, an embedded program, named
// name in /proc/PID/exe. The bytes are copied from this binary's file with
// sendfile, page cache to page cache: writing them from memory would first
// fault in every page of them (about 3 ms for 2.3 MB here).
func sealedProgram(name string, prog []byte) (int, error) {
	return sealedMemfd(name, int64(len(prog)), func(fd int) error {
		if off, ok := fileOffset(prog); ok && copyFromSelf(fd, off, prog) == nil {
			return nil
		}
		return writeAll(fd, prog, 0)
	})
}

// fileOffset finds where prog's bytes lie in this binary's file: the
// mapping of /proc/self/maps that holds them, and its file offset.
func fileOffset(prog []byte) (int64, bool) {
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil || len(prog) == 0 {
		return 0, false
	}
	addr := uint64(uintptr(unsafe.Pointer(unsafe.SliceData(prog))))
	for line := range strings.Lines(string(maps)) {
		// start-end perms offset dev inode path
		f := strings.Fields(line)
		if len(f) < 6 || f[4] == "0" {
			continue
		}
		lo, hi, _ := strings.Cut(f[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		off, err3 := strconv.ParseUint(f[2], 16, 64)
		if err1 != nil || err2 != nil || err3 != nil || addr < start || addr+uint64(len(prog)) > end {
			continue
		}
		return int64(off + addr - start), true
	}
	return 0, false
}

// copyFromSelf copies len(prog) bytes at off of this binary's file into fd
// and checks that they begin and end as prog does (the running file is the
// one mapped, so they are prog unless the offset is wrong).
func copyFromSelf(fd int, off int64, prog []byte) error {
	exe, err := os.Open("/proc/self/exe")
	if err != nil {
		return err
	}
	defer exe.Close()
	const probe = 64
	head, tail := make([]byte, min(probe, len(prog))), make([]byte, min(probe, len(prog)))
	if _, err := exe.ReadAt(head, off); err != nil {
		return err
	}
	if _, err := exe.ReadAt(tail, off+int64(len(prog)-len(tail))); err != nil {
		return err
	}
	if !bytes.Equal(head, prog[:len(head)]) || !bytes.Equal(tail, prog[len(prog)-len(tail):]) {
		return os.ErrInvalid
	}
	return sendRange(fd, exe, off, int64(len(prog)))
}

// sendRange copies size bytes at off of src into fd with sendfile, page
// cache to page cache.
func sendRange(fd int, src *os.File, off, size int64) error {
	for end := off + size; off < end; {
		n, err := unix.Sendfile(fd, int(src.Fd()), &off, int(end-off))
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%s ends before byte %d", src.Name(), end)
		}
	}
	return nil
}

// ExecPart replaces this process with the program that lies at [off,
// off+size) of exe, a file of this binary's, run from a sealed memfd named
// name with argv and env: a binary can so carry a second program past its
// own image, which the loader never maps. It returns only on failure.
func ExecPart(name string, exe *os.File, off, size int64, argv, env []string) error {
	fd, err := sealedMemfd(name, size, func(fd int) error { return sendRange(fd, exe, off, size) })
	if err != nil {
		return err
	}
	err = unix.Exec(fmt.Sprintf("/proc/self/fd/%d", fd), argv, env)
	unix.Close(fd)
	return fmt.Errorf("exec %s: %w", name, err)
}

// writeAll writes b at offset off of fd.
func writeAll(fd int, b []byte, off int64) error {
	for len(b) > 0 {
		n, err := unix.Pwrite(fd, b, off)
		if err != nil {
			return err
		}
		b, off = b[n:], off+int64(n)
	}
	return nil
}
