package ns

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// A container's ptys are Docker's: the devpts on /dev/pts gives new ones
// group tty and this mode, and the init step makes the process's own pty
// the user's.
const (
	ttyGID  = 5     // tty in Debian, Alpine and busybox images alike
	ttyMode = 0o620 // the owner reads and writes, tty writes (write(1), wall(1))
)

// setupConsole is the init step's side of a tty, run as root inside the
// container's root (after pivot_root, or after exec joined the mount
// namespace). It opens a pty of the container's own devpts, so that
// ttyname() inside finds /dev/pts/N, makes it the init step's stdio and
// controlling terminal, and sends the master to the parent; it returns once
// the parent, which has set the pty's size by then, says go on.
//
// The slave is reached from the master (TIOCGPTPEER) and never by path: in
// a running container (exec), /dev/pts/N could be made to lead elsewhere
// between the two opens.
func setupConsole(uid int) error {
	master, err := openPtmx()
	if err != nil {
		return err
	}
	defer unix.Close(master)
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		return fmt.Errorf("unlock pty: %w", err)
	}
	r, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(master), unix.TIOCGPTPEER,
		unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if errno != 0 {
		return fmt.Errorf("open pty slave (TIOCGPTPEER): %w", errno)
	}
	slave := int(r)
	defer unix.Close(slave)
	if err := unix.Fchown(slave, uid, ttyGID); err != nil {
		return fmt.Errorf("chown pty slave: %w", err)
	}
	if err := unix.Fchmod(slave, ttyMode); err != nil {
		return fmt.Errorf("chmod pty slave: %w", err)
	}
	// The init step leads a session of its own (Setsid) with no terminal
	// yet, so the slave can become its controlling terminal; the process
	// it execs keeps both.
	if err := unix.IoctlSetInt(slave, unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("make the pty the controlling terminal: %w", err)
	}
	for fd := 0; fd <= 2; fd++ {
		if err := unix.Dup3(slave, fd, 0); err != nil {
			return fmt.Errorf("pty as fd %d: %w", fd, err)
		}
	}
	if err := unix.Sendmsg(consoleFD, []byte{'m'}, unix.UnixRights(master), nil, 0); err != nil {
		return fmt.Errorf("send pty to the parent: %w", err)
	}
	var b [1]byte
	if n, err := unix.Read(consoleFD, b[:]); n != 1 {
		return fmt.Errorf("no go on from the parent after the pty (%v)", err)
	}
	unix.Close(consoleFD)
	return nil
}

// openPtmx opens the ptmx of the devpts on /dev/pts (what /dev/ptmx links
// to). The processes of a running container may have changed its /dev: no
// symlink is followed, and what opens must be a ptmx on a devpts.
func openPtmx() (int, error) {
	const name = "/dev/pts/ptmx"
	how := unix.OpenHow{Flags: unix.O_RDWR | unix.O_NOCTTY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_NO_SYMLINKS}
	fd, err := unix.Openat2(unix.AT_FDCWD, name, &how)
	if err != nil {
		return -1, fmt.Errorf("open %s: %w", name, err)
	}
	var st unix.Stat_t
	var fs unix.Statfs_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(5, 2) ||
		unix.Fstatfs(fd, &fs) != nil || fs.Type != unix.DEVPTS_SUPER_MAGIC {
		unix.Close(fd)
		return -1, errors.New("open " + name + ": not the ptmx of a devpts")
	}
	return fd, nil
}
