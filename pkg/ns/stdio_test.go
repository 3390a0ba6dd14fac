package ns

// The caller's terminal and a container's stdio: the process never holds
// the terminal itself, whatever it was given, so it can neither read the
// keys typed at it nor change its modes; what it writes still arrives,
// complete, in order and with stdout and stderr apart.

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// stdio is what a test connects to a process.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

// launcher starts args with a tty or not, in a new container (run) or in
// a running one (exec).
type launcher struct {
	name  string
	start func(t *testing.T, tty bool, io stdio, args ...string) *Process
}

func launchers(t *testing.T) []launcher {
	var sleeper *Process
	return []launcher{
		{"run", func(t *testing.T, tty bool, io stdio, args ...string) *Process {
			return start(t, Spec{Rootfs: newRootfs(t), TTY: tty, Stdin: io.in, Stdout: io.out, Stderr: io.err, Args: args})
		}},
		{"exec", func(t *testing.T, tty bool, io stdio, args ...string) *Process {
			if sleeper == nil {
				sleeper = startSleeper(t, Spec{})
			}
			p, err := Exec(sleeper.Pid(), ExecSpec{TTY: tty, Stdin: io.in, Stdout: io.out, Stderr: io.err, Args: args})
			if err != nil {
				t.Fatalf("Exec: %v", err)
			}
			cleanupProcess(t, p, "")
			return p
		}},
	}
}

// waitEnd waits for p and wants exit code 0; a process that does not end
// fails the test (and is killed by its cleanup).
func waitEnd(t *testing.T, p *Process) {
	t.Helper()
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		code, err := p.Wait()
		done <- result{code, err}
	}()
	select {
	case r := <-done:
		if r.code != 0 || r.err != nil {
			t.Fatalf("Wait = %d, %v", r.code, r.err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the process did not end")
	}
}

// unread is how many bytes typed at the terminal wait to be read.
func (u *userTerm) unread() int {
	u.t.Helper()
	var n int
	rc, err := u.term.SyscallConn()
	must(u.t, err)
	must(u.t, rc.Control(func(fd uintptr) { n, err = unix.IoctlGetInt(int(fd), unix.TIOCINQ) }))
	must(u.t, err)
	return n
}

// checkUnread types s once the process is gone and checks that nothing
// takes it from the terminal: it is the caller's shell's.
func (u *userTerm) checkUnread(s string) {
	u.t.Helper()
	before := u.unread()
	u.typeIn(s)
	// The echo shows once the line discipline has the input.
	u.expect(strings.TrimSuffix(s, "\n"))
	if n := u.unread() - before; n != len(s) {
		u.t.Fatalf("%d of the %d bytes typed after the process ended were read by someone", len(s)-n, len(s))
	}
}

// probeTerminal is what a hostile process would try on the fds it got:
// which are terminals, what they lead to, reading the keys typed at the
// terminal through stdout or stderr, and changing the terminal's modes.
const probeTerminal = `ttys=; for fd in 0 1 2; do [ -t $fd ] && ttys="$ttys$fd"; done
exec 3>&1
in=$(readlink /proc/self/fd/0); out=$(readlink /proc/self/fd/3 | cut -c1-5); err=$(readlink /proc/self/fd/2 | cut -c1-5)
stolen=$(head -c 3 <&3 2>/dev/null)
stty=refused; stty -echo -icanon <&3 2>/dev/null && stty=changed; stty -echo -icanon <&2 2>/dev/null && stty=changed
echo "ttys=[$ttys] in=$in out=$out err=$err stolen=[$stolen] stty=$stty"
echo to-stderr >&2`

// Without a tty, a process whose caller's stdout and stderr are a terminal
// gets pipes, and no stdin but /dev/null: it cannot read what is typed,
// nor leave the terminal with -echo -icanon.
func TestNoTerminalWithoutTTY(t *testing.T) {
	requireNS(t)
	for _, l := range launchers(t) {
		t.Run(l.name, func(t *testing.T) {
			u := newUserTerm(t, 24, 80)
			before := u.state()
			u.typeIn("secret\n") // typed ahead, for the caller's shell
			u.expect("secret")
			waitEnd(t, l.start(t, false, stdio{out: u.term, err: u.term}, "sh", "-c", probeTerminal))
			u.expect("ttys=[] in=/dev/null out=pipe: err=pipe: stolen=[] stty=refused\r\n")
			u.expect("to-stderr\r\n")
			if u.state() != before {
				t.Fatal("the process changed the caller's terminal")
			}
			if n := u.unread(); n != len("secret\n") {
				t.Fatalf("%d bytes typed ahead are left, want %d", n, len("secret\n"))
			}
		})
	}
}

// With stdin (-i) and no tty, what is typed at the caller's terminal
// reaches the process through a pipe, line by line as the terminal gives
// it, until ^D; the process cannot change the terminal's modes, and once
// it is gone nothing more is read from the terminal.
func TestStdinRelayedFromTerminal(t *testing.T) {
	requireNS(t)
	script := `[ -t 0 ] && echo stdin-is-a-tty; echo in=$(readlink /proc/self/fd/0 | cut -c1-5)
stty -echo -icanon 2>/dev/null && echo stty-changed
echo ready; read -r line; echo got=$line; while read -r l; do echo cat:$l; done; echo input-ended`
	for _, l := range launchers(t) {
		t.Run(l.name, func(t *testing.T) {
			u := newUserTerm(t, 24, 80)
			before := u.state()
			p := l.start(t, false, stdio{in: u.term, out: u.term, err: u.term}, "sh", "-c", script)
			u.expect("in=pipe:\r\n")
			u.expect("ready\r\n")
			u.typeIn("hello\n")
			u.expect("got=hello\r\n")
			u.typeIn("more\n")
			u.expect("cat:more\r\n")
			u.typeIn("\x04") // ^D: the end of the input
			u.expect("input-ended\r\n")
			waitEnd(t, p)
			if s := u.scr.String(); strings.Contains(s, "stdin-is-a-tty") || strings.Contains(s, "stty-changed") {
				t.Fatalf("the process had the terminal:\n%s", s)
			}
			if u.state() != before {
				t.Fatal("the caller's terminal changed")
			}
			u.checkUnread("later\n")
		})
	}
}

// Output relayed from a terminal arrives complete and in order, stdout and
// stderr each on its own, by the time Wait returns.
func TestOutputRelayedInOrder(t *testing.T) {
	requireNS(t)
	const lines = 300
	script := fmt.Sprintf(`i=0; while [ $i -lt %d ]; do echo out$i; echo err$i >&2; i=$((i+1)); done
[ -t 1 ] && echo stdout-is-a-tty; [ -t 2 ] && echo stderr-is-a-tty >&2; true`, lines)
	var wantOut, wantErr strings.Builder
	for i := range lines {
		fmt.Fprintf(&wantOut, "out%d\r\n", i)
		fmt.Fprintf(&wantErr, "err%d\r\n", i)
	}
	for _, l := range launchers(t) {
		t.Run(l.name, func(t *testing.T) {
			uOut, uErr := newUserTerm(t, 24, 80), newUserTerm(t, 24, 80)
			waitEnd(t, l.start(t, false, stdio{out: uOut.term, err: uErr.term}, "sh", "-c", script))
			for _, c := range []struct {
				u    *userTerm
				want string
			}{{uOut, wantOut.String()}, {uErr, wantErr.String()}} {
				// Written to the terminal before Wait returned; the test's
				// reader of the terminal may lag behind.
				waitFor(t, "the output", func() bool { return len(c.u.scr.String()) >= len(c.want) })
				if got := c.u.scr.String(); got != c.want {
					t.Errorf("the terminal shows %d bytes:\n%.400s...\nwant %d bytes:\n%.400s...", len(got), got, len(c.want), c.want)
				}
			}
		})
	}
}

// With a tty, the copy of the caller's terminal to the pty ends with the
// process: a key typed afterwards is the caller's shell's.
func TestTTYInputEndsWithProcess(t *testing.T) {
	requireNS(t)
	for _, l := range launchers(t) {
		t.Run(l.name, func(t *testing.T) {
			u := newUserTerm(t, 24, 80)
			before := u.state()
			p := l.start(t, true, stdio{in: u.term, out: u.term}, "sh", "-c", "read -r line; echo got=$line")
			u.typeIn("hi\r")
			u.expect("got=hi")
			waitEnd(t, p)
			if u.state() != before {
				t.Fatal("the caller's terminal was not restored")
			}
			u.checkUnread("later\n")
		})
	}
}
