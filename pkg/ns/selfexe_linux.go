package ns

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// The init step runs from a sealed view of this binary. A process in the
// container can open /proc/<init pid>/exe while the init step runs, and
// /proc/1/exe after a user's process exec'd /proc/self/exe; were that the
// layerctl binary on disk, root in the container could rewrite or chmod it
// (runc CVE-2019-5736). The view is made once per process: the binary
// through a read-only overlayfs mount attached nowhere where this process
// may mount one (no copy; runc 1.2's exeseal), else a sealed memfd copy,
// which cannot be written, grown or shrunk by anyone.
var self struct {
	once sync.Once
	fd   int
	err  error
	cost time.Duration
}

// selfPath returns a path that execs the sealed copy (of the embedded
// layerctl-init program where the build has one): its fd through
// /proc/self/fd. execve opens the file before it closes close-on-exec fds,
// so the fd stays close-on-exec and never reaches the child.
func selfPath() (string, error) {
	self.once.Do(func() {
		start := time.Now()
		if len(initProgram) > 0 {
			self.fd, self.err = sealedProgram(initArg0, initProgram)
		} else {
			self.fd, self.err = sealedOverlay("/proc/self/exe")
			if self.err != nil {
				self.fd, self.err = sealedCopy("/proc/self/exe")
			}
		}
		self.cost = time.Since(start)
	})
	if self.err != nil {
		return "", self.err
	}
	return fmt.Sprintf("/proc/self/fd/%d", self.fd), nil
}

// Warm starts making the sealed view in the background, so that a caller
// with work of its own to do before Start or Exec (parsing its flags,
// records, mounts, cgroups) does it meanwhile; Start and Exec wait for it
// if need be. It also has Go's os package check, once per process, that
// pidfds work, which its first process start would do on the start's path:
// the check clones a child that exits at once (half a millisecond here).
func Warm() {
	go selfPath()
	warmPidfd.Do(func() {
		go func() {
			if p, err := os.FindProcess(os.Getpid()); err == nil {
				p.Release()
			}
		}()
	})
}

var warmPidfd sync.Once

// SelfCopyCost is how long making the sealed view of the binary took (zero
// before the first Start or Exec).
func SelfCopyCost() time.Duration { return self.cost }

const seals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE

func sealedCopy(name string) (int, error) {
	src, err := os.Open(name)
	if err != nil {
		return -1, fmt.Errorf("copy self: %w", err)
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil {
		return -1, fmt.Errorf("copy self: %w", err)
	}
	return sealedMemfd("layerctl", fi.Size(), func(fd int) error {
		// sendfile copies page cache to page cache inside the kernel.
		for off := int64(0); off < fi.Size(); {
			n, err := unix.Sendfile(fd, int(src.Fd()), &off, int(fi.Size()-off))
			if err != nil {
				return fmt.Errorf("sendfile: %w", err)
			}
			if n == 0 {
				return fmt.Errorf("%s shrank while copied", name)
			}
		}
		return nil
	})
}

// sealedMemfd makes an executable memfd of size bytes, has fill write them,
// and seals it: nobody can write, grow or shrink it from then on.
func sealedMemfd(name string, size int64, fill func(fd int) error) (int, error) {
	// MFD_EXEC says on purpose that the memfd is executable (kernels with
	// vm.memfd_noexec warn otherwise); older kernels lack the flag.
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING|unix.MFD_EXEC)
	if errors.Is(err, unix.EINVAL) {
		fd, err = unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	}
	if err != nil {
		return -1, fmt.Errorf("copy self: memfd_create: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			unix.Close(fd)
		}
	}()
	if err := unix.Ftruncate(fd, size); err != nil {
		return -1, fmt.Errorf("copy self: %w", err)
	}
	if err := fill(fd); err != nil {
		return -1, fmt.Errorf("copy self: %w", err)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		return -1, fmt.Errorf("copy self: seal: %w", err)
	}
	ok = true
	return moveHigh(fd)
}

// moveHigh moves fd to a high number, clear of the 0..n the child's files
// are moved to before execve.
func moveHigh(fd int) (int, error) {
	defer unix.Close(fd)
	high, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 100)
	if err != nil {
		return -1, fmt.Errorf("copy self: %w", err)
	}
	return high, nil
}
