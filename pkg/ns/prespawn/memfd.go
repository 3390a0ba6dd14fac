package prespawn

import (
	"errors"
	"sync"
	"syscall"
	"unsafe"
)

// Flags syscall lacks (memfd_create(2), fcntl(2)).
const (
	mfdCloexec      = 0x1
	mfdAllowSealing = 0x2
	mfdExec         = 0x10
	fAddSeals       = 1033
	fDupfdCloexec   = 1030
	// Seals are F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_GROW and F_SEAL_WRITE.
	Seals = 0x1 | 0x2 | 0x4 | 0x8
)

const (
	highFD       = 100     // MoveHigh's lowest fd
	probeBytes   = 64      // what copyFromSelf compares at each end
	maxReadBytes = 1 << 20 // readFile's limit
)

var program struct {
	once sync.Once
	fd   int
	err  error
}

// SealedProgram is a sealed view of Program, made once per process
// (close-on-exec, at 100 or above); an error without an embedded program:
// the store's copy of it through a sealed overlay (cache.go), where the
// store the command line names has one, else a sealed memfd copy.
func SealedProgram() (int, error) {
	program.once.Do(func() {
		if len(Program) == 0 {
			program.err = errors.New("no embedded init program")
			return
		}
		if fd, err := cachedProgram(storeCacheDir()); err == nil {
			program.fd = fd
			return
		}
		program.fd, program.err = sealedCopy(Arg0, Program)
	})
	return program.fd, program.err
}

// sealedCopy is a sealed memfd named name holding prog.
func sealedCopy(name string, prog []byte) (int, error) {
	return SealedMemfd(name, int64(len(prog)), func(fd int) error { return writeProgram(fd, prog) })
}

// WriteProgram writes Program into the empty file fd.
func WriteProgram(fd int) error { return writeProgram(fd, Program) }

// writeProgram writes prog, a part of this binary, into the empty file fd.
// The bytes are copied from this binary's file with sendfile, page cache
// to page cache: writing them from memory would first fault in every page
// of them (about 3 ms for 2.3 MB here).
func writeProgram(fd int, prog []byte) error {
	if off, ok := fileOffset(prog); ok && copyFromSelf(fd, off, prog) == nil {
		return nil
	}
	return WriteAll(fd, prog, 0)
}

// SealedMemfd makes an executable memfd of size bytes, has fill write them,
// and seals it: nobody can write, grow or shrink it from then on. The fd is
// close-on-exec, moved to 100 or above (MoveHigh).
func SealedMemfd(name string, size int64, fill func(fd int) error) (int, error) {
	fd, err := memfdCreate(name)
	if err != nil {
		return -1, wrap("memfd_create", err)
	}
	ok := false
	defer func() {
		if !ok {
			syscall.Close(fd)
		}
	}()
	if err := syscall.Ftruncate(fd, size); err != nil {
		return -1, wrap("ftruncate", err)
	}
	if err := fill(fd); err != nil {
		return -1, wrap("fill", err)
	}
	if _, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), fAddSeals, Seals); e != 0 {
		return -1, wrap("seal", e)
	}
	ok = true
	return MoveHigh(fd)
}

// memfdCreate makes a close-on-exec, sealable memfd. MFD_EXEC says on
// purpose that it is executable (kernels with vm.memfd_noexec warn
// otherwise); older kernels lack the flag.
func memfdCreate(name string) (int, error) {
	if sysMemfdCreate < 0 {
		return -1, syscall.ENOSYS
	}
	p, err := syscall.BytePtrFromString(name)
	if err != nil {
		return -1, err
	}
	for _, flags := range []uintptr{mfdCloexec | mfdAllowSealing | mfdExec, mfdCloexec | mfdAllowSealing} {
		fd, _, e := syscall.Syscall(uintptr(sysMemfdCreate), uintptr(unsafe.Pointer(p)), flags, 0)
		if e == 0 {
			return int(fd), nil
		}
		if e != syscall.EINVAL {
			return -1, e
		}
	}
	return -1, syscall.EINVAL
}

// MoveHigh moves fd to 100 or above, close-on-exec, clear of the 0..n a
// child's files are moved to before execve; fd is closed.
func MoveHigh(fd int) (int, error) {
	defer syscall.Close(fd)
	high, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), fDupfdCloexec, highFD)
	if e != 0 {
		return -1, wrap("dup", e)
	}
	return int(high), nil
}

// SendRange copies size bytes at off of the file src into dst with
// sendfile, page cache to page cache.
func SendRange(dst, src int, off, size int64) error {
	for end := off + size; off < end; {
		n, err := syscall.Sendfile(dst, src, &off, int(end-off))
		if err != nil {
			return err
		}
		if n == 0 {
			return errors.New("the file ends before the range does")
		}
	}
	return nil
}

// WriteAll writes b at offset off of fd.
func WriteAll(fd int, b []byte, off int64) error {
	for len(b) > 0 {
		n, err := syscall.Pwrite(fd, b, off)
		if err != nil {
			return err
		}
		b, off = b[n:], off+int64(n)
	}
	return nil
}

// copyFromSelf copies len(prog) bytes at off of this binary's file into fd
// and checks that they begin and end as prog does (the running file is the
// one mapped, so they are prog unless the offset is wrong).
func copyFromSelf(fd int, off int64, prog []byte) error {
	exe, err := syscall.Open("/proc/self/exe", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(exe)
	n := min(probeBytes, len(prog))
	for _, at := range []int64{0, int64(len(prog) - n)} {
		b := make([]byte, n)
		if got, err := syscall.Pread(exe, b, off+at); err != nil || got != n || string(b) != string(prog[at:at+int64(n)]) {
			return errors.New("the program is not where the mapping says")
		}
	}
	return SendRange(fd, exe, off, int64(len(prog)))
}

// fileOffset finds where prog's bytes lie in this binary's file: the
// mapping of /proc/self/maps that holds them, and its file offset.
func fileOffset(prog []byte) (int64, bool) {
	maps, ok := readFile("/proc/self/maps", make([]byte, 0, 16<<10))
	if !ok || len(prog) == 0 {
		return 0, false
	}
	addr := uint64(uintptr(unsafe.Pointer(unsafe.SliceData(prog))))
	for len(maps) > 0 {
		var line []byte
		line, maps = cutByte(maps, '\n')
		// start-end perms offset dev inode path
		span, rest := nextField(line)
		_, rest = nextField(rest)
		offset, rest := nextField(rest)
		_, rest = nextField(rest)
		inode, _ := nextField(rest)
		if len(inode) == 0 || string(inode) == "0" {
			continue
		}
		lo, hi := cutByte(span, '-')
		start, ok1 := hex(lo)
		end, ok2 := hex(hi)
		off, ok3 := hex(offset)
		if !ok1 || !ok2 || !ok3 || addr < start || addr+uint64(len(prog)) > end {
			continue
		}
		return int64(off + addr - start), true
	}
	return 0, false
}

// readFile reads a small file whole (up to 1 MiB), appending it to buf.
func readFile(path string, buf []byte) ([]byte, bool) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, false
	}
	defer syscall.Close(fd)
	for len(buf) < maxReadBytes {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := syscall.Read(fd, buf[len(buf):cap(buf)])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, false
		}
		if n == 0 {
			return buf, true
		}
		buf = buf[:len(buf)+n]
	}
	return nil, false
}

func cutByte(b []byte, sep byte) (before, after []byte) {
	for i, c := range b {
		if c == sep {
			return b[:i], b[i+1:]
		}
	}
	return b, nil
}

// nextField is b's first space-separated field, and what follows it.
func nextField(b []byte) (field, rest []byte) {
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	return cutByte(b, ' ')
}

func hex(b []byte) (uint64, bool) {
	var v uint64
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		default:
			return 0, false
		}
		if v>>60 != 0 {
			return 0, false
		}
		v = v<<4 | uint64(c)
	}
	return v, len(b) > 0
}

// sealError says which step of making a sealed view (a memfd, an overlay)
// failed.
type sealError struct {
	view, step string
	err        error
}

func (e *sealError) Error() string { return e.view + ": " + e.step + ": " + e.err.Error() }
func (e *sealError) Unwrap() error { return e.err }

func wrap(step string, err error) error { return &sealError{"sealed memfd", step, err} }
