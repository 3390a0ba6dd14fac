package ns

import (
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Process is a started container process: a container's PID 1 (Start) or a
// process run in one (Exec).
type Process struct {
	pid    int
	child  child
	status syscall.WaitStatus // once Wait returned, with a status
	con    *console
	once   sync.Once
	done   chan struct{}
	code   int
	err    error
}

// child is the process a Process stands for: an os/exec command's, or an
// init step package prespawn started (rawChild).
type child interface {
	signal(os.Signal) error
	// wait waits for the process and for the copies of its output, as
	// exec.Cmd's Wait does; ok tells a status.
	wait() (ws syscall.WaitStatus, ok bool, err error)
}

func newProcess(cmd *exec.Cmd, con *console) *Process {
	return &Process{pid: cmd.Process.Pid, child: cmdChild{cmd}, con: con, done: make(chan struct{})}
}

type cmdChild struct{ cmd *exec.Cmd }

func (c cmdChild) signal(sig os.Signal) error { return c.cmd.Process.Signal(sig) }

func (c cmdChild) wait() (syscall.WaitStatus, bool, error) {
	err := c.cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) || errors.Is(err, exec.ErrWaitDelay) {
		err = nil
	}
	if ps := c.cmd.ProcessState; ps != nil {
		return ps.Sys().(syscall.WaitStatus), true, err
	}
	return 0, false, err
}

// Pid is the process's pid in the caller's PID namespace.
func (p *Process) Pid() int { return p.pid }

// Signal sends sig to the process. A container's PID 1 gets only the
// signals it handles, and SIGKILL (pid_namespaces(7)).
func (p *Process) Signal(sig os.Signal) error { return p.child.signal(sig) }

// kill ends the process (before Wait).
func (p *Process) kill() { p.child.signal(os.Kill) }

// Wait waits for the process to exit and for its output to be copied, and
// returns its exit code: its own, or 128+n when signal n killed it. It may
// be called more than once.
func (p *Process) Wait() (int, error) {
	p.once.Do(func() {
		ws, ok, err := p.child.wait()
		p.con.wait()
		p.err = err
		if ok {
			p.status, p.code = ws, exitCode(ws)
		}
		close(p.done)
	})
	return p.code, p.err
}

// exitsWithin tells whether the process ends within d, without reaping
// it: one whose files are closed is on its way out, not quite a zombie.
func (p *Process) exitsWithin(d time.Duration) bool {
	for end := time.Now().Add(d); ; time.Sleep(time.Millisecond) {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PID, p.Pid(), &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
		if err == nil && info.Signo != 0 {
			return true
		}
		if err != nil || time.Now().After(end) {
			return false
		}
	}
}

// signaled tells whether a signal ended the process (once Wait returned).
func (p *Process) signaled() bool {
	return p.status.Signaled()
}

func exitCode(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// forwarded are the signals ForwardSignals passes on by default. With a tty
// SIGWINCH is not among them: the pty's resize sends it.
var forwarded = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT,
	syscall.SIGUSR1, syscall.SIGUSR2}

// held catches the signals ForwardSignals passes on between HoldSignals and
// ForwardSignals, once ready is closed.
var held struct {
	ch    chan os.Signal
	ready chan struct{}
}

// heldSignals are those HoldSignals catches: ForwardSignals' defaults.
var heldSignals = append(forwarded[:len(forwarded):len(forwarded)], syscall.SIGWINCH)

// HoldSignals keeps the signals ForwardSignals passes on from now until it
// is called: one that comes while a process starts (its first output may
// already be out) reaches it then, instead of ending this process. The
// registration takes a round trip to the runtime's signal thread for each
// signal, half a millisecond and more here: it goes on in the background,
// beside the start it is for, and ForwardSignals waits for it.
func HoldSignals() {
	if held.ch != nil {
		return
	}
	held.ch, held.ready = make(chan os.Signal, 16), make(chan struct{})
	go func() {
		signal.Notify(held.ch, heldSignals...)
		close(held.ready)
	}()
}

// takeHeld is HoldSignals' channel once registered, or nil without one.
func takeHeld() chan os.Signal {
	ch := held.ch
	if ch != nil {
		<-held.ready
		held.ch = nil
	}
	return ch
}

// ForwardSignals passes the signals this process receives (sigs, or
// SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and, without a tty,
// SIGWINCH) on to the process until Wait returns. For a container's PID 1,
// only those it handles arrive.
func (p *Process) ForwardSignals(sigs ...os.Signal) {
	custom := len(sigs) > 0
	if !custom {
		sigs = forwarded
		if !p.con.hasPty() {
			sigs = append(sigs[:len(sigs):len(sigs)], syscall.SIGWINCH)
		}
	}
	ch := takeHeld()
	if ch == nil || custom {
		// A channel of its own; what came while the process started is
		// passed on first.
		mine := make(chan os.Signal, 16)
		signal.Notify(mine, sigs...)
		if ch != nil {
			signal.Stop(ch)
			for len(ch) > 0 {
				if s := <-ch; slices.Contains(sigs, s) {
					p.Signal(s)
				}
			}
		}
		ch = mine
	}
	// Otherwise the held channel goes on as it is (a Stop and a Notify
	// cost as much as the registration), SIGWINCH included: with a tty it
	// is dropped below, the pty's resize sends it.
	go func() {
		defer signal.Stop(ch)
		for {
			select {
			case s := <-ch:
				if slices.Contains(sigs, s) {
					p.Signal(s)
				}
			case <-p.done:
				return
			}
		}
	}()
}
