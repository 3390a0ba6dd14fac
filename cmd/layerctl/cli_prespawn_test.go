package main

import (
	"bytes"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// earlyLog is what `--log-level debug run` says when its container runs on
// the init step package prespawn started with the process.
const earlyLog = "the init step was started with this process"

// A run's init step starts with the layerctl process, before its packages
// are initialised, whenever the command line and the stdio allow it, and
// the container runs on it: with its network, its stdin, and its output
// reaching the caller as usual.
func TestCLIRunInitStepStartsEarly(t *testing.T) {
	b := newBox(t)
	cases := []struct {
		name  string
		args  []string
		stdin string
		want  string
		early bool
	}{
		{"plain", []string{"run", "--rm", busyboxImage, "sh", "-c", "echo hi; echo err >&2"}, "", "hi\n", true},
		{"host network", []string{"run", "--rm", "--network=host", busyboxImage, "sh", "-c", "ip -o link | grep -v ': lo:' | wc -l"}, "", "", true},
		{"no network", []string{"run", "--rm", busyboxImage, "sh", "-c", "ip -o link | grep -v ': lo:' | wc -l"}, "", "0\n", true},
		{"stdin piped in", []string{"run", "--rm", "-i", busyboxImage, "cat"}, "data\n", "data\n", true},
		{"stdin not asked for", []string{"run", "--rm", busyboxImage, "cat"}, "data\n", "", true},
		{"group word", []string{"container", "run", "--rm", "-e", "A=1", busyboxImage, "sh", "-c", "echo $A"}, "", "1\n", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := command(b.root, append([]string{"--log-level", "debug"}, c.args...)...)
			var out, errOut bytes.Buffer
			cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(c.stdin), &out, &errOut
			if err := cmd.Run(); err != nil {
				t.Fatalf("%v: %v\n%s", c.args, err, errOut.String())
			}
			if c.name == "host network" {
				if out.String() == "0\n" {
					t.Errorf("--network=host: the container has only lo")
				}
			} else if out.String() != c.want {
				t.Errorf("stdout %q, want %q", out.String(), c.want)
			}
			if got := strings.Contains(errOut.String(), earlyLog); got != c.early {
				t.Errorf("started with the process: %v, want %v\nstderr: %s", got, c.early, errOut.String())
			}
			if c.name == "plain" && !strings.Contains(errOut.String(), "err\n") {
				t.Errorf("the container's stderr is missing: %q", errOut.String())
			}
		})
	}
}

// Output to the caller's terminal goes through a pipe the parent copies, as
// without the early start: the container's processes never hold the
// terminal.
func TestCLIRunEarlyOnATerminal(t *testing.T) {
	b := newBox(t)
	tm := startTerm(t, command(b.root, "--log-level", "debug", "run", "--rm", busyboxImage,
		"sh", "-c", "[ -t 1 ] || [ -t 2 ] || echo no-tty-$((2*3)); ls -l /proc/self/fd/1"))
	tm.expect("no-tty-6")
	tm.expect("pipe:")
	// The parent's log line comes before or after the container's output.
	tm.seen = 0
	tm.expect(earlyLog)
	if code := tm.wait(); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// An init step started with the process for a run that then fails is
// ended by layerctl before it exits: nothing is left to the pipe's EOF.
func TestCLIRunEarlyStepEndsWithAFailure(t *testing.T) {
	b := newBox(t)
	// Orphans of layerctl come to this process while the test runs.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Skipf("no subreaper: %v", err)
	}
	defer unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
	for _, args := range [][]string{
		{"run", "--rm", "no-such-image", "true"},
		{"run", "--rm", "--cpus", "many", busyboxImage, "true"},
		{"run", "--rm", "--name", "bad/name", busyboxImage, "true"},
	} {
		if _, errOut, code := b.run(t, args...); code == 0 {
			t.Fatalf("%v succeeded: %s", args, errOut)
		}
		// layerctl has exited: any process of its still about is ours now.
		var ws syscall.WaitStatus
		for deadline := time.Now().Add(500 * time.Millisecond); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if err == syscall.ECHILD {
				break
			}
			if pid > 0 {
				t.Errorf("%v left process %d behind", args, pid)
			}
		}
	}
}
