package ns

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/creack/pty"
	"golang.org/x/term"
)

// console is the parent's side of a process's pty: the parent copies its
// stdin to the pty and the pty to its stdout, keeps the pty's size that of
// its own terminal, and has that terminal in raw mode meanwhile, so keys
// like ^C reach the container's line discipline rather than the parent.
type console struct {
	master, slave *os.File
	in            io.Reader
	out           io.Writer
	term          *os.File // the parent's terminal, if stdin or stdout is one
	raw           bool     // term is stdin: made raw
	state         *term.State
	outDone       chan struct{}
	winch         chan os.Signal
}

// drainWait bounds how long Wait waits for the pty's last output after the
// process exited: a process it left behind (exec) may hold the pty open.
const drainWait = time.Second

func newConsole(stdin io.Reader, stdout io.Writer) (*console, error) {
	master, slave, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("open pty: %w", err)
	}
	c := &console{master: master, slave: slave, in: stdin, out: stdout, outDone: make(chan struct{})}
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		c.term, c.raw = f, true
	} else if f, ok := stdout.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		c.term = f
	}
	if c.term != nil {
		pty.InheritSize(c.term, master)
	}
	return c, nil
}

// attach makes the pty the command's stdio and the controlling terminal of
// its session.
func (c *console) attach(cmd *exec.Cmd) {
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.slave, c.slave, c.slave
	cmd.SysProcAttr.Setctty = true
	cmd.SysProcAttr.Ctty = 0
}

// started runs once the child holds the slave.
func (c *console) started() {
	if c == nil {
		return
	}
	c.slave.Close()
	if c.raw {
		if st, err := term.MakeRaw(int(c.term.Fd())); err == nil {
			c.state = st
		}
	}
	if c.term != nil {
		c.winch = make(chan os.Signal, 1)
		signal.Notify(c.winch, syscall.SIGWINCH)
		go func() {
			for range c.winch {
				pty.InheritSize(c.term, c.master)
			}
		}()
	}
	if c.in != nil {
		go io.Copy(c.master, c.in)
	}
	go func() {
		out := c.out
		if out == nil {
			out = io.Discard
		}
		// Ends with EIO once every holder of the slave is gone.
		io.Copy(out, c.master)
		close(c.outDone)
	}()
}

// wait runs once the process exited: it lets the output drain and gives the
// terminal back as it was.
func (c *console) wait() {
	if c == nil {
		return
	}
	select {
	case <-c.outDone:
	case <-time.After(drainWait):
	}
	if c.winch != nil {
		signal.Stop(c.winch)
		close(c.winch)
	}
	if c.state != nil {
		term.Restore(int(c.term.Fd()), c.state)
	}
	c.master.Close()
}

// close releases a console whose process never started.
func (c *console) close() {
	if c == nil {
		return
	}
	c.master.Close()
	c.slave.Close()
}
