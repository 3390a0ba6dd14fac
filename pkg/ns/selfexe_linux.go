package ns

import (
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/layerctl/layerctl/pkg/ns/prespawn"
)

// The init step runs from a sealed view of this binary. A process in the
// container can open /proc/<init pid>/exe while the init step runs, and
// /proc/1/exe after a user's process exec'd /proc/self/exe; were that the
// layerctl binary on disk, root in the container could rewrite or chmod it
// (runc CVE-2019-5736). The view is made once per process: the embedded
// init program's (prespawn.SealedProgram), else the binary through a
// read-only overlayfs mount attached nowhere where this process may mount
// one (no copy; runc 1.2's exeseal), else a sealed memfd copy, which cannot
// be written, grown or shrunk by anyone.
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
		if len(prespawn.Program) > 0 {
			self.fd, self.err = prespawn.SealedProgram()
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
	if prespawn.Starting() {
		return // its init step is on its way, and needs neither (see adoptPrespawned)
	}
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
	// sendfile copies page cache to page cache inside the kernel.
	fd, err := prespawn.SealedMemfd("layerctl", fi.Size(), func(fd int) error {
		return prespawn.SendRange(fd, int(src.Fd()), 0, fi.Size())
	})
	if err != nil {
		return -1, fmt.Errorf("copy self: %w", err)
	}
	return fd, nil
}
