package ns

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/term"
)

// screen collects what a pty master shows.
type screen struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// userTerm is a terminal with a user at it: the test types into the pty's
// master and reads what it shows; the slave is the parent's stdin and
// stdout.
type userTerm struct {
	t          *testing.T
	user, term *os.File // master, slave
	scr        screen
}

func newUserTerm(t *testing.T, rows, cols uint16) *userTerm {
	t.Helper()
	user, tty, err := pty.Open()
	must(t, err)
	t.Cleanup(func() { user.Close(); tty.Close() })
	must(t, pty.Setsize(user, &pty.Winsize{Rows: rows, Cols: cols}))
	u := &userTerm{t: t, user: user, term: tty}
	go io.Copy(&u.scr, user)
	return u
}

func (u *userTerm) typeIn(s string) {
	u.t.Helper()
	if _, err := u.user.Write([]byte(s)); err != nil {
		u.t.Fatal(err)
	}
}

// expect waits until the screen shows want.
func (u *userTerm) expect(want string) {
	u.t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(u.scr.String(), want) {
			return
		}
	}
	u.t.Fatalf("timed out waiting for %q; screen:\n%s", want, u.scr.String())
}

func (u *userTerm) state() term.State {
	u.t.Helper()
	st, err := term.GetState(int(u.term.Fd()))
	must(u.t, err)
	return *st
}

// TestRunTTY plays a user at a terminal running a shell in a container.
func TestRunTTY(t *testing.T) {
	requireNS(t)
	u := newUserTerm(t, 33, 111)
	before := u.state()
	p := start(t, Spec{Rootfs: newRootfs(t), TTY: true, Stdin: u.term, Stdout: u.term, Args: []string{"sh"}})
	u.typeIn("echo hello-$((6*7))\n")
	u.expect("hello-42")
	if u.state() == before {
		t.Fatal("the parent's terminal is not raw during the session")
	}
	checkShellTTY(t, u, p, "0")
	u.typeIn("exit 3\n")
	if code, err := p.Wait(); err != nil || code != 3 {
		t.Fatalf("Wait = %d, %v\nscreen:\n%s", code, err, u.scr.String())
	}
	if u.state() != before {
		t.Fatal("the parent's terminal was not restored")
	}
}

// TestExecTTY is TestRunTTY for a shell exec'd into a running container.
func TestExecTTY(t *testing.T) {
	requireNS(t)
	c := startSleeper(t, Spec{})
	u := newUserTerm(t, 33, 111)
	before := u.state()
	p, err := Exec(c.Pid(), ExecSpec{TTY: true, Stdin: u.term, Stdout: u.term, Args: []string{"sh"}})
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	cleanupProcess(t, p, "")
	u.typeIn("echo hello-$((6*7)) pid1=$(cat /proc/1/comm)\n")
	u.expect("hello-42 pid1=sleep")
	checkShellTTY(t, u, p, "0")
	u.typeIn("exit 4\n")
	if code, err := p.Wait(); err != nil || code != 4 {
		t.Fatalf("Wait = %d, %v\nscreen:\n%s", code, err, u.scr.String())
	}
	if u.state() != before {
		t.Fatal("the parent's terminal was not restored")
	}
	if !Alive(c.Pid()) {
		t.Fatal("the container ended with the exec'd shell")
	}
}

// checkShellTTY checks, through the shell p runs on u, what the shell sees
// of its terminal: a pty of the container's devpts (number n) owned by
// root, its stdio and nothing else, the size of u and its changes, and ^C
// that reaches the foreground process.
func checkShellTTY(t *testing.T, u *userTerm, p *Process, n string) {
	t.Helper()
	// ttyname() works: the pty is the container's, and its node exists.
	u.typeIn("echo tty=$(tty); test -c $(tty) && echo node-$((1+1)) $TERM\n")
	u.expect("tty=/dev/pts/" + n + "\r\n")
	u.expect("node-2 xterm")
	u.typeIn("ls -l /proc/self/fd/0\n")
	u.expect("-> /dev/pts/" + n + "\r\n")
	u.typeIn("echo own=$(stat -c %u.%g.%a $(tty))\n")
	u.expect("own=0.5.620\r\n")
	u.typeIn("stty size\n")
	u.expect("33 111")
	// The parent follows its terminal's size on SIGWINCH.
	must(t, pty.Setsize(u.user, &pty.Winsize{Rows: 40, Cols: 100}))
	must(t, syscall.Kill(os.Getpid(), syscall.SIGWINCH))
	waitFor(t, "the new size", func() bool {
		u.typeIn("stty size\n")
		time.Sleep(50 * time.Millisecond)
		return strings.Contains(u.scr.String(), "40 100")
	})
	// ^C reaches the container's line discipline, not the parent.
	u.typeIn("sleep 20\n")
	// Once sleep runs, the line editor has given the tty back its modes.
	waitFor(t, "sleep", func() bool { return childNamed(p.Pid(), "sleep") })
	u.typeIn("\x03")
	u.typeIn("echo back-$((2+3))\n")
	u.expect("back-5")
}

// The process sees the size of the caller's terminal from its first
// instruction: the parent sets it before the init step execs.
func TestTTYSizeAtStart(t *testing.T) {
	requireNS(t)
	c := startSleeper(t, Spec{})
	for _, tc := range []struct {
		name  string
		start func(u *userTerm) *Process
	}{
		{"run", func(u *userTerm) *Process {
			return start(t, Spec{Rootfs: newRootfs(t), TTY: true, Stdout: u.term, Args: []string{"stty", "size"}})
		}},
		{"exec", func(u *userTerm) *Process {
			p, err := Exec(c.Pid(), ExecSpec{TTY: true, Stdout: u.term, Args: []string{"stty", "size"}})
			if err != nil {
				t.Fatalf("Exec: %v", err)
			}
			cleanupProcess(t, p, "")
			return p
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := newUserTerm(t, 27, 93)
			if code, err := tc.start(u).Wait(); code != 0 || err != nil {
				t.Fatalf("Wait = %d, %v", code, err)
			}
			u.expect("27 93\r")
		})
	}
}

// The pty belongs to the process's user, group tty, as Docker has it.
func TestTTYOwner(t *testing.T) {
	requireNS(t)
	// fds: ls's 0, 1 (the pipe to tr) and 2, and its own 3.
	line := "stat -c %u.%g.%a $(tty); ls -l /proc/self/fd/0 | sed 's/.*-> //'; ls /proc/self/fd | tr '\\n' ' '"
	want := "1000.5.620\r\n/dev/pts/0\r\n0 1 2 3 "
	code, out, _ := run(t, Spec{TTY: true, User: "user"}, "sh", "-c", line)
	if code != 0 || out != want {
		t.Fatalf("run: exit %d, %q, want %q", code, out, want)
	}
	c := startSleeper(t, Spec{})
	code, out = execOut(t, c.Pid(), ExecSpec{TTY: true, User: "user", Args: []string{"sh", "-c", line}})
	if code != 0 || out != want {
		t.Fatalf("exec: exit %d, %q, want %q", code, out, want)
	}
}

// A tty process that cannot start fails Start and Exec as without a tty,
// before the init step has a pty or after, and leaves the caller's
// terminal as it was.
func TestTTYStartError(t *testing.T) {
	requireNS(t)
	c := startSleeper(t, Spec{})
	rootfs := newRootfs(t)
	for _, tc := range []struct {
		name string
		user string
		args []string
		code int
	}{
		{"no such user", "nosuch", []string{"true"}, CodeSetup}, // before the pty
		{"no such command", "", []string{"foo"}, CodeNotFound},  // after
	} {
		t.Run(tc.name, func(t *testing.T) {
			t0 := time.Now()
			u := newUserTerm(t, 24, 80)
			before := u.state()
			_, err := Start(Spec{Rootfs: rootfs, TTY: true, Stdin: u.term, Stdout: u.term, User: tc.user, Args: tc.args})
			if se := startErrorOf(t, err); se.Code != tc.code {
				t.Fatalf("run: %d %q, want %d", se.Code, se.Msg, tc.code)
			}
			if u.state() != before {
				t.Fatal("run: the terminal was not restored")
			}
			checkNoMounts(t, rootfs)
			// The same terminal: nothing of the run above reads it any more.
			_, err = Exec(c.Pid(), ExecSpec{TTY: true, Stdin: u.term, Stdout: u.term, User: tc.user, Args: tc.args})
			if se := startErrorOf(t, err); se.Code != tc.code {
				t.Fatalf("exec: %d %q, want %d", se.Code, se.Msg, tc.code)
			}
			if u.state() != before {
				t.Fatal("exec: the terminal was not restored")
			}
			if d := time.Since(t0); d > 5*time.Second {
				t.Fatalf("took %v", d)
			}
		})
	}
}

// childNamed tells whether pid has a child whose command is name.
func childNamed(pid int, name string) bool {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, st := range stats {
		b, _ := os.ReadFile(st)
		if i := bytes.LastIndexByte(b, ')'); i > 0 && strings.Contains(string(b), "("+name+")") {
			var state byte
			var ppid int
			if _, err := fmt.Sscanf(string(b[i+1:]), " %c %d", &state, &ppid); err == nil && ppid == pid {
				return true
			}
		}
	}
	return false
}
