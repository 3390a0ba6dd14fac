package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// tuiSession is layerctl explore running in a detached tmux session on its
// own tmux server, so the test reads the screen as a user would see it.
type tuiSession struct {
	t      *testing.T
	socket string
}

func startTUI(t *testing.T, root, image string) *tuiSession {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("needs tmux (make deps installs it)")
	}
	s := &tuiSession{t: t, socket: fmt.Sprintf("layerctl-explore-%d-%d", os.Getpid(), time.Now().UnixNano())}
	var env []string
	for _, kv := range testEnv() {
		env = append(env, shellQuote(kv))
	}
	// After explore exits, the shell prints its code on the restored screen.
	script := fmt.Sprintf("env %s %s --root %s explore %s; echo EXITED $?; sleep 60",
		strings.Join(env, " "), shellQuote(binPath), shellQuote(root), shellQuote(image))
	s.tmux("new-session", "-d", "-x", "180", "-y", "45", "sh", "-c", script)
	t.Cleanup(func() { exec.Command("tmux", "-L", s.socket, "kill-server").Run() })
	return s
}

func (s *tuiSession) tmux(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", s.socket}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (s *tuiSession) keys(keys ...string) {
	s.tmux(append([]string{"send-keys", "-t", "0"}, keys...)...)
}

func (s *tuiSession) screen() string { return s.tmux("capture-pane", "-p", "-t", "0") }

// waitFor waits until the screen shows every want and none of absent.
func (s *tuiSession) waitFor(what string, want []string, absent ...string) string {
	s.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		scr := s.screen()
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(scr, w)
		}
		for _, a := range absent {
			ok = ok && !strings.Contains(scr, a)
		}
		if ok {
			return scr
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s: want %q, not %q, on the screen:\n%s", what, want, absent, scr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestExploreTUI(t *testing.T) {
	root, id := historyImage(t)
	s := startTUI(t, root, id)
	s.waitFor("first screen", []string{"Layers", "RUN overwrite", "ADD rootfs /", "Layer 1: everything up to this layer", "etc/", "efficiency: 60.00 %", "q quit"})
	s.keys("Tab", "Enter")
	s.waitFor("etc opened", []string{"~ big  1.5 kB"})
	s.keys("Down", "v")
	s.waitFor("content of /etc/big", []string{"/etc/big (layer 1)", "BBBBBBBB"})
	// Escape alone: followed at once by a key, the terminal reads Alt+key.
	s.keys("Escape")
	s.waitFor("back from the content", []string{"Layer 1: everything up to this layer"}, "/etc/big (layer 1)")
	s.keys("c")
	s.waitFor("this layer's changes", []string{"Layer 1: this layer's changes"})
	s.keys("Tab", "Up")
	s.waitFor("layer 0", []string{"Layer 0: this layer's changes", "+ etc/"})
	s.keys("Tab", "/")
	s.keys("-l", "nomatch")
	s.keys("Enter")
	s.waitFor("filter", []string{`filter "nomatch"`}, "+ etc/")
	s.keys("z", "2")
	s.waitFor("hide modified", []string{"hiding modified"})
	s.keys("q")
	s.waitFor("quit restores the screen", []string{"EXITED 0"}, "Layers", "RUN overwrite")
}

func TestExploreTUICtrlC(t *testing.T) {
	root, id := historyImage(t)
	s := startTUI(t, root, id)
	s.waitFor("first screen", []string{"Layers", "RUN overwrite"})
	s.keys("C-c")
	s.waitFor("Ctrl-C restores the screen", []string{"EXITED 0"}, "Layers")
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
