package ns

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// console is the parent's side of the caller's terminal for one process.
//
// With a tty, the pty is the container's: the init step opens it from the
// container's own devpts, so that ttyname() inside finds /dev/pts/N, and
// sends the master back over the console socket (as runc's
// --console-socket). The parent then relays what is typed at its stdin to
// the master and copies the master to its stdout, keeps the pty's size
// that of its own terminal, and has that terminal in raw mode meanwhile,
// so keys like ^C reach the container's line discipline rather than the
// parent.
//
// Without a tty, it is the relay of a terminal on stdin to the process's
// stdin pipe (see relayTerminals); the terminal stays as it is.
type console struct {
	pty     bool
	sock    *os.File // the parent's end of the console socket
	peer    *os.File // the init step's end, until the init step has it
	master  *os.File // the pty's master, once received
	in      io.Reader
	out     io.Writer
	term    *os.File // the parent's terminal, if stdin or stdout is one
	raw     bool     // term is stdin: made raw
	state   *term.State
	outDone chan struct{} // made when the copying starts
	winch   chan os.Signal
	relay   *inputRelay // from term, when it is stdin

	// Without a tty: the process's stdin pipe, the read end until the
	// init step has it, the write end until the relay has it.
	stdinR, stdinW *os.File
}

// drainWait bounds how long Wait waits for the pty's last output after the
// process exited: a process it left behind (exec) may hold the pty open.
const drainWait = time.Second

// masterWait bounds how long the parent waits for the pty's master once it
// said go: the init step mounts the rootfs (or joins the container) first,
// which takes milliseconds; a step that hangs longer is killed.
const masterWait = 30 * time.Second

func newConsole(stdin io.Reader, stdout io.Writer) (*console, error) {
	// SEQPACKET: the master comes as one message, and the init step's
	// exit as an empty one, whatever it wrote before.
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("console socket: %w", err)
	}
	// Non-blocking, so that the parent's end goes through the poller and
	// takes a read deadline.
	if err := unix.SetNonblock(sp[0], true); err != nil {
		unix.Close(sp[0])
		unix.Close(sp[1])
		return nil, fmt.Errorf("console socket: %w", err)
	}
	c := &console{pty: true, sock: os.NewFile(uintptr(sp[0]), "console"), peer: os.NewFile(uintptr(sp[1]), "console"),
		in: stdin, out: stdout}
	if f := terminal(stdin); f != nil {
		c.term, c.raw = f, true
	} else if f := terminal(stdout); f != nil {
		c.term = f
	}
	return c, nil
}

// socket is the init step's end of the console socket (nil without a
// console: consoleFD is then closed in the init step).
func (c *console) socket() *os.File {
	if c == nil {
		return nil
	}
	return c.peer
}

// started runs once the init step holds its end of the console socket
// and its stdin: from then on, the parent's end reads EOF when the init
// step is gone, and a stdin pipe has no reader once the process is.
func (c *console) started() {
	if c == nil {
		return
	}
	for _, f := range []*os.File{c.peer, c.stdinR} {
		if f != nil {
			f.Close()
		}
	}
	c.peer, c.stdinR = nil, nil
}

// hasPty tells whether the process has a pty (and so gets SIGWINCH from
// it, not from the parent).
func (c *console) hasPty() bool { return c != nil && c.pty }

// connect takes the pty's master from the init step, gives the pty the
// size of the parent's terminal, starts copying, and then lets the init
// step go on to exec: the process sees the right size from its first
// instruction.
func (c *console) connect() error {
	if c == nil {
		return nil
	}
	if !c.pty {
		return c.relayStdin()
	}
	m, err := c.receive()
	if err != nil {
		return err
	}
	c.master = m
	if c.term != nil {
		// Before the size is read, so that no change is missed.
		winch := make(chan os.Signal, 1)
		signal.Notify(winch, syscall.SIGWINCH)
		c.resize(m)
		go func() {
			for range winch {
				c.resize(m)
			}
		}()
		c.winch = winch
	}
	if c.raw {
		if st, err := term.MakeRaw(int(c.term.Fd())); err == nil {
			c.state = st
		}
		if c.relay, err = startInputRelay(c.term, m); err != nil {
			return err
		}
	} else if c.in != nil {
		// Outlives the process while it waits for input. Through a bare
		// Writer: the master's ReadFrom would hold the master's lock
		// while it waits, and closing the master would wait for it.
		go io.Copy(struct{ io.Writer }{m}, c.in)
	}
	c.outDone = make(chan struct{})
	go func() {
		out := c.out
		if out == nil {
			out = io.Discard
		}
		// Ends with EIO once every holder of the slave is gone.
		io.Copy(out, m)
		close(c.outDone)
	}()
	if _, err := c.sock.Write([]byte{'g'}); err != nil {
		return fmt.Errorf("console socket: %w", err)
	}
	return nil
}

// relayStdin starts relaying the terminal to the stdin pipe of a process
// without a tty. The relay holds the pipe's only write end from then on,
// so the process reads EOF when the relay ends.
func (c *console) relayStdin() error {
	var err error
	c.relay, err = startInputRelay(c.term, c.stdinW)
	c.stdinW.Close()
	c.stdinW = nil
	return err
}

// resize gives the pty the size of the parent's terminal. Not with
// pty.InheritSize: the master's Fd would make it blocking, and then closing
// it would no longer end a read; Control also keeps it open meanwhile (a
// late SIGWINCH finds it closed, not its fd number reused).
func (c *console) resize(m *os.File) {
	ws, err := unix.IoctlGetWinsize(int(c.term.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return
	}
	if rc, err := m.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, ws) })
	}
}

// receive reads the one message the init step sends on the console socket:
// a byte and the master as SCM_RIGHTS.
func (c *console) receive() (*os.File, error) {
	if err := c.sock.SetReadDeadline(time.Now().Add(masterWait)); err != nil {
		return nil, fmt.Errorf("receive pty: %w", err)
	}
	rc, err := c.sock.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("receive pty: %w", err)
	}
	var n, oobn, flags int
	var rerr error
	buf, oob := make([]byte, 1), make([]byte, unix.CmsgSpace(4))
	err = rc.Read(func(fd uintptr) bool {
		// MSG_CMSG_CLOEXEC: nothing the parent starts meanwhile inherits
		// the master.
		n, oobn, flags, _, rerr = unix.Recvmsg(int(fd), buf, oob, unix.MSG_CMSG_CLOEXEC)
		return !errors.Is(rerr, unix.EAGAIN)
	})
	if err == nil {
		err = rerr
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return nil, fmt.Errorf("receive pty: no pty from the init step after %v", masterWait)
	}
	if err != nil {
		return nil, fmt.Errorf("receive pty: %w", err)
	}
	var fds []int
	if oobn > 0 {
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			return nil, fmt.Errorf("receive pty: %w", err)
		}
		for _, m := range msgs {
			if got, err := unix.ParseUnixRights(&m); err == nil {
				fds = append(fds, got...)
			}
		}
	}
	if len(fds) != 1 || flags&unix.MSG_CTRUNC != 0 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		if n == 0 && oobn == 0 {
			return nil, errors.New("receive pty: the init step exited before it had a pty")
		}
		return nil, fmt.Errorf("receive pty: want one fd, got %d (flags %#x)", len(fds), flags)
	}
	// Non-blocking before NewFile, so that the copies go through the
	// poller and closing the master ends them.
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		return nil, fmt.Errorf("receive pty: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "/dev/ptmx"), nil
}

// wait runs once the process exited: it lets the output drain and then
// releases the console.
func (c *console) wait() {
	if c == nil {
		return
	}
	if c.outDone != nil {
		select {
		case <-c.outDone:
		case <-time.After(drainWait):
		}
	}
	c.close()
}

// close gives the terminal back as it was and closes the console's files;
// on its own, it releases a console whose process never started.
func (c *console) close() {
	if c == nil {
		return
	}
	c.relay.stop()
	c.relay = nil
	if c.winch != nil {
		signal.Stop(c.winch)
		close(c.winch)
		c.winch = nil
	}
	if c.state != nil {
		term.Restore(int(c.term.Fd()), c.state)
		c.state = nil
	}
	for _, f := range []*os.File{c.sock, c.peer, c.master, c.stdinR, c.stdinW} {
		if f != nil {
			f.Close()
		}
	}
	c.sock, c.peer, c.master, c.stdinR, c.stdinW = nil, nil, nil, nil, nil
}
