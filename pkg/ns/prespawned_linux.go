package ns

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/ns/prespawn"
)

// adoptPrespawned is the init step package prespawn started as this process
// began, when it was started as l asks: in the same namespaces, without a
// tty, on this process's own stdio (stdin: /dev/null, or fd 0 with -i;
// a terminal's output through a pipe this process copies). Else nil, and
// that step, if there is one, is ended.
func adoptPrespawned(l Launch, newNet bool) *Spawned {
	st := prespawn.Take()
	if st == nil {
		return nil
	}
	if !fitsPrespawned(st, l, newNet) {
		endPrespawned(st)
		return nil
	}
	c := &rawChild{pid: st.Pid}
	for i, w := range []io.Writer{l.Stdout, l.Stderr} {
		if st.Relays[i] < 0 {
			continue
		}
		r := os.NewFile(uintptr(st.Relays[i]), "relay")
		c.copies.Go(func() {
			defer r.Close()
			io.Copy(struct{ io.Writer }{w}, r) // a plain Writer: no splice to a terminal
		})
	}
	p := &Process{pid: st.Pid, child: c, done: make(chan struct{})}
	return &Spawned{p: p, parent: os.NewFile(uintptr(st.Sync), "sync"), cfgW: os.NewFile(uintptr(st.Config), "config"),
		newNet: newNet, early: true}
}

// rawChild is a child of this process that os/exec did not start: its
// signals and its wait go by its pid, which no other process can take
// before it is reaped, and none is sent once it is. (os.FindProcess would
// do, but first runs Go's once-a-process probe of pidfds: a clone.)
type rawChild struct {
	pid    int
	copies sync.WaitGroup // of its output to a terminal
	mu     sync.Mutex
	reaped bool
}

func (c *rawChild) signal(sig os.Signal) error {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return errors.New("signal: not a syscall.Signal")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reaped {
		return os.ErrProcessDone
	}
	return syscall.Kill(c.pid, s)
}

func (c *rawChild) wait() (syscall.WaitStatus, bool, error) {
	// Waitable first, reaped under the lock: a signal sent meanwhile
	// still finds this process's zombie.
	var info unix.Siginfo
	err := retryEINTR(func() error { return unix.Waitid(unix.P_PID, c.pid, &info, unix.WEXITED|unix.WNOWAIT, nil) })
	if err != nil {
		return 0, false, fmt.Errorf("wait for %d: %w", c.pid, err)
	}
	c.mu.Lock()
	var ws syscall.WaitStatus
	err = retryEINTR(func() error {
		_, err := syscall.Wait4(c.pid, &ws, 0, nil)
		return err
	})
	c.reaped = true
	c.mu.Unlock()
	c.copies.Wait()
	if err != nil {
		return 0, false, fmt.Errorf("wait for %d: %w", c.pid, err)
	}
	return ws, true, nil
}

func retryEINTR(f func() error) error {
	for {
		if err := f(); err != unix.EINTR {
			return err
		}
	}
}

// fitsPrespawned tells whether st was started as l asks.
func fitsPrespawned(st *prespawn.Step, l Launch, newNet bool) bool {
	if l.TTY || newNet != (st.Reading.Net == NetNone) {
		return false
	}
	if st.Reading.Interactive {
		if !isStdio(l.Stdin, os.Stdin, 0) {
			return false
		}
	} else if l.Stdin != nil {
		return false
	}
	return isStdio(l.Stdout, os.Stdout, 1) && isStdio(l.Stderr, os.Stderr, 2)
}

// isStdio tells whether v is std, the file of fd (os.Stdout may be a dup
// of fd 1: the same file, and the same open file description).
func isStdio(v any, std *os.File, fd int) bool {
	f, ok := v.(*os.File)
	if !ok || f != std {
		return false
	}
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	var st syscall.Stat_t
	if syscall.Fstat(fd, &st) != nil {
		return false
	}
	own, ok := fi.Sys().(*syscall.Stat_t)
	return ok && own.Dev == st.Dev && own.Ino == st.Ino && own.Rdev == st.Rdev
}

// endPrespawned kills a step no one takes and reaps it.
func endPrespawned(st *prespawn.Step) {
	syscall.Kill(st.Pid, syscall.SIGKILL)
	retryEINTR(func() error {
		_, err := syscall.Wait4(st.Pid, nil, 0, nil)
		return err
	})
	for _, fd := range []int{st.Config, st.Sync, st.Relays[0], st.Relays[1]} {
		if fd >= 0 {
			syscall.Close(fd)
		}
	}
}

// DropPrespawned ends the init step package prespawn started for this
// process when nothing took it (the command line was refused, or the run
// failed before it started its container); a no-op otherwise.
func DropPrespawned() {
	if st := prespawn.Take(); st != nil {
		endPrespawned(st)
	}
}
