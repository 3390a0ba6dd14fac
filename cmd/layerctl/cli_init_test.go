package main

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// run --init makes PID 1 a reaper and signal forwarder: stop, ^C and
// SIGINT reach sh or sleep, exit codes and signals pass through, orphans
// are reaped.
func TestCLIRunInit(t *testing.T) {
	b := newBox(t)
	for _, tc := range []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"pid 1 is the init", []string{"sh", "-c", `tr '\0' ' ' < /proc/1/cmdline; echo; echo $$`}, 0, "layerctl-init /bin/sh -- sh -c"},
		{"no signal blocked", []string{"grep", "SigBlk", "/proc/self/status"}, 0, "SigBlk:\t0000000000000000\n"},
		{"exit code", []string{"sh", "-c", "exit 5"}, 5, ""},
		{"killed", []string{"sh", "-c", "kill -9 $$"}, 137, ""},
		{"not found", []string{"/no/such"}, 127, ""},
		// The orphaned sleep is re-parented to PID 1 and reaped, not left
		// a zombie.
		{"orphans reaped", []string{"sh", "-c", "(sleep 0.1 &); sleep 0.5; ps -o stat | grep -c Z"}, 1, "0\n"},
	} {
		out, stderr, code := b.run(t, append([]string{"run", "--rm", "--init", busyboxImage}, tc.args...)...)
		if code != tc.code || !strings.Contains(out, tc.out) {
			t.Errorf("%s: exit %d stdout %q stderr %q; want exit %d and %q", tc.name, code, out, stderr, tc.code, tc.out)
		}
	}

	// stop: SIGTERM reaches sleep at once, not SIGKILL after the timeout.
	b.detach(t, "--name", "sleeper", "--init", busyboxImage, "sleep", "100")
	begin := time.Now()
	b.mustRun(t, "stop", "-t", "20", "sleeper")
	if d := time.Since(begin); d > 10*time.Second {
		t.Errorf("stop of an --init sleep took %v: SIGTERM did not reach it", d)
	}
	if out := b.mustRun(t, "wait", "sleeper"); out != "143\n" {
		t.Errorf("wait after stop printed %q, want 143 (SIGTERM)", out)
	}

	// create --init, started attached: SIGINT to layerctl reaches sh.
	b.mustRun(t, "create", "--name", "waiter", "--init", busyboxImage, "sh", "-c", "echo ready; sleep 100")
	cmd := command(b.root, "start", "-a", "waiter")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	if _, err := stdout.Read(buf); err != nil || string(buf) != "ready\n" {
		t.Fatalf("start -a: read %q, %v", buf, err)
	}
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
		if code := cmd.ProcessState.ExitCode(); code != 130 {
			t.Errorf("start -a after SIGINT: exit %d, want 130", code)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Error("SIGINT did not end an --init container's sh")
	}
}

// run -it --init: ^C at the terminal ends sleep (the terminal's foreground
// is the process, not the init).
func TestCLIRunInitTTY(t *testing.T) {
	b := newBox(t)
	tm := startTerm(t, command(b.root, "run", "-it", "--rm", "--init", busyboxImage, "sh", "-c", "echo go; exec sleep 100"))
	tm.expect("go")
	tm.typeIn("\x03")
	if code := tm.wait(); code != 130 {
		t.Errorf("^C on an --init sleep: exit %d, want 130", code)
	}
}
