package ns

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// The caller's terminal never becomes one of a process's fds. A process
// holding it could read the keys typed at it (through its stdout as well:
// a terminal is opened read-write), change its modes and leave it with
// -echo -icanon, or take part in its job control. So, as Docker and podman
// do, a process gets either a pty of its own (TTY, see console) or pipes
// where the caller has a terminal, and the parent relays. Other files
// (regular files, pipes, /dev/null) are passed as they are: they cost
// nothing and hold nothing of the caller's but the stream itself.

// relayTerminals connects the stdio of a process without a tty: a
// terminal on stdout or stderr becomes a pipe that exec.Cmd copies from
// (Wait returns once it has copied everything), a terminal on stdin a
// pipe that the returned console fills from the terminal.
func relayTerminals(cmd *exec.Cmd, stdin io.Reader, stdout, stderr io.Writer) (*console, error) {
	cmd.Stdout, cmd.Stderr = relayedOutput(stdout), relayedOutput(stderr)
	in := terminal(stdin)
	if in == nil {
		cmd.Stdin = stdin
		return nil, nil
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("stdin pipe: %w", err)
	}
	cmd.Stdin = r
	return &console{term: in, stdinR: r, stdinW: w}, nil
}

// terminalWriter hides a terminal from exec.Cmd, which then gives the
// process a pipe and copies it to the terminal. A pointer: stdout and
// stderr on one terminal still get a pipe each, and stay apart.
type terminalWriter struct{ f *os.File }

func (w *terminalWriter) Write(p []byte) (int, error) { return w.f.Write(p) }

func relayedOutput(w io.Writer) io.Writer {
	if f := terminal(w); f != nil {
		return &terminalWriter{f}
	}
	return w
}

// terminal returns v when it is a file open on a terminal.
func terminal(v any) *os.File {
	f, ok := v.(*os.File)
	if !ok || f == nil {
		return nil
	}
	// Through Control rather than Fd, which would make the file blocking.
	rc, err := f.SyscallConn()
	if err != nil {
		return nil
	}
	isTerm := false
	if rc.Control(func(fd uintptr) { isTerm = term.IsTerminal(int(fd)) }) != nil || !isTerm {
		return nil
	}
	return f
}

// inputRelay copies what is typed at the caller's terminal to a process's
// input (its stdin pipe, or its pty's master). It reads the terminal only
// when poll says there is input, and ends when the terminal reads EOF (^D
// at the start of a line) or hangs up, when no one can read the input any
// more (the pipe has no reader, the pty no slave), or on stop. So it never
// takes a key typed after the process is gone from the caller's shell.
type inputRelay struct {
	stopW *os.File // closed to stop
	done  chan struct{}
}

// startInputRelay starts relaying from the terminal src to dst; it works
// on fds of its own, so the caller may close its files meanwhile.
func startInputRelay(src, dst *os.File) (*inputRelay, error) {
	srcFD, err := reopenNonblock(src)
	if err != nil {
		return nil, fmt.Errorf("relay the terminal: %w", err)
	}
	dstFD, err := dupFile(dst)
	if err != nil {
		unix.Close(srcFD)
		return nil, fmt.Errorf("relay the terminal: %w", err)
	}
	stopR, stopW, err := os.Pipe()
	if err != nil {
		unix.Close(srcFD)
		unix.Close(dstFD)
		return nil, fmt.Errorf("relay the terminal: %w", err)
	}
	r := &inputRelay{stopW: stopW, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		defer unix.Close(srcFD)
		defer unix.Close(dstFD)
		defer stopR.Close()
		// Control keeps stopR's fd open while the relay polls it.
		if rc, err := stopR.SyscallConn(); err == nil {
			rc.Control(func(stop uintptr) { relayInput(srcFD, dstFD, int(stop)) })
		}
	}()
	return r, nil
}

// stop ends the relay and waits until it no longer touches the terminal.
func (r *inputRelay) stop() {
	if r == nil {
		return
	}
	r.stopW.Close()
	<-r.done
}

// reopenNonblock opens the terminal f anew, non-blocking: should another
// reader take the input poll announced, the read must not wait for the
// next key (stop would wait with it). A dup would share the caller's
// blocking mode, and setting it would change the caller's file too; it is
// the fallback where the terminal cannot be opened again.
func reopenNonblock(f *os.File) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	cerr := rc.Control(func(old uintptr) {
		fd, err = unix.Open(fmt.Sprintf("/proc/self/fd/%d", old), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	})
	if cerr != nil || err != nil {
		return dupFile(f)
	}
	return fd, nil
}

func dupFile(f *os.File) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	cerr := rc.Control(func(old uintptr) { fd, err = unix.FcntlInt(old, unix.F_DUPFD_CLOEXEC, 0) })
	return fd, errors.Join(cerr, err)
}

// relayInput is the relay's loop over raw fds: one poll waits for stop,
// for dst's end, and for the terminal's input or, while a piece is
// pending, room in dst. Both fds are non-blocking (dst is the parent's
// pipe or pty master).
func relayInput(src, dst, stop int) {
	buf := make([]byte, 4096)
	var pending []byte
	for {
		fds := []unix.PollFd{{Fd: int32(stop), Events: unix.POLLIN}, {Fd: int32(dst)}, {Fd: int32(src)}}
		if len(pending) > 0 {
			fds[1].Events = unix.POLLOUT
			fds[2].Fd = -1 // not even its hangup, which would wake poll at once
		} else {
			fds[2].Events = unix.POLLIN
		}
		if _, err := unix.Poll(fds, -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			return
		}
		// POLLERR: a pipe without reader; POLLHUP: a pty without slave.
		if fds[0].Revents != 0 || fds[1].Revents&(unix.POLLERR|unix.POLLHUP|unix.POLLNVAL) != 0 {
			return
		}
		if len(pending) > 0 {
			if fds[1].Revents&unix.POLLOUT == 0 {
				continue
			}
			n, err := unix.Write(dst, pending)
			if err != nil && err != unix.EAGAIN && err != unix.EINTR {
				return
			}
			pending = pending[max(n, 0):]
			continue
		}
		if fds[2].Revents == 0 {
			continue
		}
		n, err := unix.Read(src, buf)
		switch {
		case err == unix.EAGAIN || err == unix.EINTR:
		case err != nil || n == 0:
			return // EOF or hangup: the input ends
		default:
			pending = buf[:n]
		}
	}
}
