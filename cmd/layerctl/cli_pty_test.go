package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// ptyProc is a terminal with a layerctl process in the foreground on it.
// The test keeps both ends: the master to type and read, the slave to see
// the terminal's input queue and modes as the caller's shell would find
// them.
type ptyProc struct {
	t             *testing.T
	master, slave *os.File
	cmd           *exec.Cmd
	done          chan struct{}
	mu            sync.Mutex
	screen        bytes.Buffer
	seen          int // how much of screen expect has moved past
}

// newPty opens a terminal and records all that appears on it.
func newPty(t *testing.T) *ptyProc {
	t.Helper()
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	tm := &ptyProc{t: t, master: master, slave: slave}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			tm.mu.Lock()
			tm.screen.Write(buf[:n])
			tm.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { master.Close(); slave.Close() })
	return tm
}

// startTerm starts cmd on a new terminal.
func startTerm(t *testing.T, cmd *exec.Cmd) *ptyProc {
	t.Helper()
	tm := newPty(t)
	tm.start(cmd)
	return tm
}

// start runs cmd as the terminal's foreground process (a session of its
// own with the terminal as its controlling terminal, as a shell does); it
// is killed if it still runs when the test ends.
func (tm *ptyProc) start(cmd *exec.Cmd) {
	tm.t.Helper()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tm.slave, tm.slave, tm.slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		tm.t.Fatal(err)
	}
	tm.cmd, tm.done = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(tm.done) }()
	tm.t.Cleanup(func() {
		select {
		case <-tm.done:
		default:
			cmd.Process.Kill()
			<-tm.done
		}
	})
}

func (tm *ptyProc) typeIn(s string) {
	tm.t.Helper()
	if _, err := tm.master.Write([]byte(s)); err != nil {
		tm.t.Fatal(err)
	}
}

// expect waits for s to appear on the terminal after what was seen so far,
// and moves past it.
func (tm *ptyProc) expect(s string) {
	tm.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		tm.mu.Lock()
		all := tm.screen.String()
		tm.mu.Unlock()
		if i := strings.Index(all[tm.seen:], s); i >= 0 {
			tm.seen += i + len(s)
			return
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("%q did not appear; the terminal shows:\n%s", s, all)
		}
	}
}

// wait waits for the process to end and returns its exit code.
func (tm *ptyProc) wait() int {
	tm.t.Helper()
	select {
	case <-tm.done:
	case <-time.After(20 * time.Second):
		tm.t.Fatal("the process on the terminal did not end")
	}
	return tm.cmd.ProcessState.ExitCode()
}

// lflag is the terminal's local mode flags (ICANON, ECHO: off in raw mode).
func (tm *ptyProc) lflag() uint32 {
	tm.t.Helper()
	tio, err := unix.IoctlGetTermios(int(tm.slave.Fd()), unix.TCGETS)
	if err != nil {
		tm.t.Fatal(err)
	}
	return tio.Lflag
}

// cooked fails the test unless the terminal echoes and reads by lines, as
// the caller's shell left it.
func (tm *ptyProc) cooked(when string) {
	tm.t.Helper()
	if tm.lflag()&(unix.ICANON|unix.ECHO) != unix.ICANON|unix.ECHO {
		tm.t.Errorf("%s: the terminal is not in its own mode (lflag %#x)", when, tm.lflag())
	}
}

// unread is how many bytes typed at the terminal wait to be read.
func (tm *ptyProc) unread() int {
	tm.t.Helper()
	n, err := unix.IoctlGetInt(int(tm.slave.Fd()), unix.TIOCINQ)
	if err != nil {
		tm.t.Fatal(err)
	}
	return n
}
