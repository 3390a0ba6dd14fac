package ns

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// target is the process exec joins, pinned by a pidfd so that a pid reused
// meanwhile can never lead into another process's namespaces: the pidfd
// names the process that had the pid when it was opened, the recorded start
// time says that this was the container's, and every fd taken of
// /proc/PID is checked, once open, to come from that process still alive.
type target struct {
	pid   int
	pidfd *os.File
	// nsFiles are the fds of the joined namespaces, where setns does not
	// take a pidfd (before Linux 5.8); in the order of joined.
	nsFiles []*os.File
	root    *os.File // /proc/PID/root: the container's root, maybe a chroot
	mnt     *os.File // the mount namespace: the pidfd, or /proc/PID/ns/mnt
}

// pidfdSetns tells whether setns takes a pidfd and a set of namespaces
// (Linux 5.8).
var pidfdSetns = sync.OnceValue(func() bool {
	var uts unix.Utsname
	if unix.Uname(&uts) != nil {
		return false
	}
	return kernelAtLeast(unix.ByteSliceToString(uts.Release[:]), 5, 8)
})

// kernelAtLeast compares a release such as "6.1.0-18-amd64" with major.minor.
func kernelAtLeast(release string, major, minor int) bool {
	f := strings.FieldsFunc(release, func(r rune) bool { return r < '0' || r > '9' })
	if len(f) < 2 {
		return false
	}
	maj, _ := strconv.Atoi(f[0])
	mnr, _ := strconv.Atoi(f[1])
	return maj > major || maj == major && mnr >= minor
}

func openTarget(pid int, start uint64) (_ *target, err error) {
	fail := func(err error) (*target, error) {
		return nil, fmt.Errorf("exec in container %d: %w", pid, err)
	}
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return fail(fmt.Errorf("pidfd_open: %w", err))
	}
	tg := &target{pid: pid, pidfd: os.NewFile(uintptr(pidfd), "pidfd")}
	defer func() {
		if err != nil {
			tg.close()
		}
	}()
	// Read after the pidfd is open: the pid names the pinned process here,
	// or one started after it, whose start time differs.
	if start != 0 {
		if got, err := StartTime(pid); err != nil || got != start {
			return fail(fmt.Errorf("the container's process is gone: pid %d names another process", pid))
		}
	}
	open := func(name string, flags int) (*os.File, error) {
		p := fmt.Sprintf("/proc/%d/%s", pid, name)
		fd, err := unix.Open(p, flags|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", p, err)
		}
		return os.NewFile(uintptr(fd), p), nil
	}
	if tg.root, err = open("root", unix.O_PATH|unix.O_DIRECTORY); err != nil {
		return fail(err)
	}
	if pidfdSetns() {
		tg.mnt = tg.pidfd
	} else {
		for _, n := range joined {
			f, err := open("ns/"+n.name, unix.O_RDONLY)
			if err != nil {
				return fail(err)
			}
			tg.nsFiles = append(tg.nsFiles, f)
		}
		if tg.mnt, err = open("ns/mnt", unix.O_RDONLY); err != nil {
			return fail(err)
		}
	}
	// Still alive after the opens: what they opened was this process's.
	if err := unix.PidfdSendSignal(pidfd, 0, nil, 0); err != nil {
		return fail(fmt.Errorf("the container's process ended: %w", err))
	}
	return tg, nil
}

// join makes the calling (locked) thread join the target's IPC, UTS,
// network and PID (for children) namespaces.
func (tg *target) join() error {
	if tg.nsFiles == nil {
		flags := 0
		for _, n := range joined {
			flags |= n.flag
		}
		if err := unix.Setns(int(tg.pidfd.Fd()), flags); err != nil {
			return fmt.Errorf("exec in container %d: setns through its pidfd: %w", tg.pid, err)
		}
		return nil
	}
	for i, n := range joined {
		if err := unix.Setns(int(tg.nsFiles[i].Fd()), n.flag); err != nil {
			return fmt.Errorf("exec in container %d: setns %s: %w", tg.pid, n.name, err)
		}
	}
	return nil
}

func (tg *target) close() {
	for _, f := range append([]*os.File{tg.pidfd, tg.root, tg.mnt}, tg.nsFiles...) {
		if f != nil {
			f.Close() // the pidfd may be mnt too: a second Close is harmless
		}
	}
}
