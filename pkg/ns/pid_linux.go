package ns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// These look at a process that need not be a child of the caller, such as a
// detached container's PID 1 seen from a later layerctl stop.

// StartTime is when pid started, in clock ticks since boot (field 22 of
// /proc/PID/stat). Recorded with the pid, it tells a container's process
// from a later one that reused its pid.
func StartTime(pid int) (uint64, error) {
	_, start, err := procStat(pid)
	return start, err
}

// Alive tells whether pid exists and has not exited (a zombie has).
func Alive(pid int) bool {
	state, _, err := procStat(pid)
	return err == nil && state != 'Z' && state != 'X'
}

// WaitPid waits until pid has exited, or ctx is done. A pid that does not
// exist has exited.
func WaitPid(ctx context.Context, pid int) error {
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("wait for %d: pidfd_open: %w", pid, err)
	}
	defer unix.Close(fd)
	// A pidfd polls readable once the process has exited; poll in short
	// slices so ctx is honoured.
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 20)
		if n > 0 {
			return nil
		}
		if err != nil && !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("wait for %d: poll: %w", pid, err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

func procStat(pid int) (state byte, start uint64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// The command name (field 2) is in parentheses and may hold anything.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	f := bytes.Fields(b[i+1:]) // f[0] is field 3
	if len(f) < 20 {
		return 0, 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	start, err = strconv.ParseUint(string(f[19]), 10, 64)
	return f[0][0], start, err
}
