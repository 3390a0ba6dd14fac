package ns

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

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

// The test plays a user at a terminal: the parent's stdin and stdout are
// the slave of a pty whose master the test types into and reads.
func TestRunTTY(t *testing.T) {
	requireNS(t)
	user, term0, err := pty.Open()
	must(t, err)
	defer user.Close()
	defer term0.Close()
	must(t, pty.Setsize(user, &pty.Winsize{Rows: 33, Cols: 111}))
	before, err := term.GetState(int(term0.Fd()))
	must(t, err)
	var scr screen
	go io.Copy(&scr, user)

	p := start(t, Spec{Rootfs: newRootfs(t), TTY: true, Stdin: term0, Stdout: term0, Args: []string{"sh"}})
	type_ := func(s string) {
		if _, err := user.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	type_("echo hello-$((6*7))\n")
	waitFor(t, "hello-42", func() bool { return strings.Contains(scr.String(), "hello-42") })
	type_("stty size; test -t 0 && echo tty-$((1+1)) $TERM\n")
	waitFor(t, "the size", func() bool { return strings.Contains(scr.String(), "33 111") })
	waitFor(t, "a tty", func() bool { return strings.Contains(scr.String(), "tty-2 xterm") })
	// ^C reaches the container's line discipline, not the parent.
	type_("sleep 20\n")
	// Once sleep runs, the line editor has given the tty back its modes.
	waitFor(t, "sleep", func() bool { return childNamed(p.Pid(), "sleep") })
	type_("\x03")
	type_("echo back-$((2+3))\n")
	waitFor(t, "sleep interrupted", func() bool { return strings.Contains(scr.String(), "back-5") })
	waitFor(t, "raw mode", func() bool {
		st, _ := term.GetState(int(term0.Fd()))
		return st != nil && *st != *before
	})
	type_("exit 3\n")
	if code, err := p.Wait(); err != nil || code != 3 {
		t.Fatalf("Wait = %d, %v\nscreen:\n%s", code, err, scr.String())
	}
	after, err := term.GetState(int(term0.Fd()))
	must(t, err)
	if *after != *before {
		t.Fatal("the parent's terminal was not restored")
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
