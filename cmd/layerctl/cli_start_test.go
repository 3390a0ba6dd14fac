package main

import (
	"strings"
	"testing"
	"time"
)

// create takes run's flags and a command; start runs it (again, with its
// rw layer), -a with its output and exit code; wait prints exit codes;
// restart gives a running container a new process.
func TestCLICreateStartWaitRestart(t *testing.T) {
	t.Parallel()
	b := newBox(t)
	id := strings.TrimSpace(b.mustRun(t, "create", "--name", "job", "-e", "N=x", "-w", "/tmp", busyboxImage,
		"sh", "-c", `echo $N$(pwd) | tee -a /runs; echo err >&2; exit $(wc -l < /runs)`))
	b.track(id)
	if r := b.waitStatus(t, "job", "created"); r.ID != id {
		t.Fatalf("create printed %s, ps has %s", id, r.ID)
	}
	if out := b.mustRun(t, "start", "job"); strings.TrimSpace(out) != id {
		t.Errorf("start printed %q, want the ID", out)
	}
	if out := b.mustRun(t, "wait", "job"); out != "1\n" {
		t.Errorf("wait printed %q, want 1", out)
	}
	out, stderr, code := b.run(t, "start", "-a", "job")
	if out != "x/tmp\n" || stderr != "err\n" || code != 2 {
		t.Errorf("start -a: stdout %q stderr %q exit %d; want x/tmp, err, 2", out, stderr, code)
	}
	if out := b.mustRun(t, "wait", "job", id[:12]); out != "2\n2\n" {
		t.Errorf("wait of two names of one exited container printed %q", out)
	}

	b.mustRun(t, "create", "--name", "svc", busyboxImage, "sleep", "100")
	b.mustRun(t, "start", "svc")
	first := b.waitStatus(t, "svc", "running")
	b.mustRun(t, "start", "svc") // running already: nothing to do
	if out := b.mustRun(t, "restart", "-t", "0", "svc"); strings.TrimSpace(out) != first.ID {
		t.Errorf("restart printed %q", out)
	}
	if second := b.waitStatus(t, "svc", "running"); second.Pid == first.Pid {
		t.Errorf("restart kept pid %d", first.Pid)
	}
	b.mustRun(t, "stop", "-t", "0", "svc")
	if out := b.mustRun(t, "wait", "svc"); out != "137\n" {
		t.Errorf("wait after stop of sleep printed %q, want 137", out)
	}

	for _, bad := range [][]string{
		{"start", "nosuch"}, {"wait", "nosuch"}, {"restart", "nosuch"},
		{"start", "-a", "job", "svc"}, {"create", "--nosuch", busyboxImage},
	} {
		_, stderr, code := b.run(t, bad...)
		checkOneLineError(t, stderr, code)
	}
}

// logs keeps a detached container's stdout and stderr apart, and takes
// --tail, -t and -f (which ends when the container does).
func TestCLILogs(t *testing.T) {
	t.Parallel()
	b := newBox(t)
	b.detach(t, "--name", "talk", busyboxImage, "sh", "-c", "echo o1; echo e1 >&2; sleep 1; echo o2; sleep 0.5; echo e2 >&2")
	out, errOut, code := b.run(t, "logs", "-f", "talk")
	if out != "o1\no2\n" || errOut != "e1\ne2\n" || code != 0 {
		t.Errorf("logs -f: stdout %q stderr %q exit %d", out, errOut, code)
	}
	b.waitStatus(t, "talk", "exited (0)")
	if out, errOut, _ := b.run(t, "logs", "--tail", "1", "talk"); out != "" || errOut != "e2\n" {
		t.Errorf("logs --tail 1: stdout %q stderr %q, want the last line only", out, errOut)
	}
	out = b.mustRun(t, "logs", "-t", "talk")
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		stamp, text, _ := strings.Cut(line, " ")
		if _, err := time.Parse(time.RFC3339Nano, stamp); err != nil || text[0] != 'o' {
			t.Errorf("logs -t line %q: %v", line, err)
		}
	}
	// --since and --until by the times -t printed: o1 came a second before o2.
	stamps := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	first, _, _ := strings.Cut(stamps[0], " ")
	second, _, _ := strings.Cut(stamps[1], " ")
	if out, errOut, _ := b.run(t, "logs", "--since", second, "talk"); out != "o2\n" || errOut != "e2\n" {
		t.Errorf("logs --since %s: stdout %q stderr %q, want o2 and e2", second, out, errOut)
	}
	if out, _, _ := b.run(t, "logs", "--until", first, "talk"); out != "o1\n" {
		t.Errorf("logs --until %s: stdout %q, want o1", first, out)
	}
	if out, _, _ := b.run(t, "logs", "--since", "1h", "--tail", "1", "talk"); out != "" {
		t.Errorf("logs --since 1h --tail 1: stdout %q, want nothing (e2 is the last line)", out)
	}
	_, stderr, code := b.run(t, "logs", "--tail", "x", "talk")
	checkOneLineError(t, stderr, code)
	_, stderr, code = b.run(t, "logs", "--since", "yesterday", "talk")
	checkOneLineError(t, stderr, code)
}

// --stop-signal is what stop sends first, and --stop-timeout how long it
// waits (when stop -t is not given) before SIGKILL: a process that only
// notes the signal is killed after it.
func TestCLIStopSignalAndTimeout(t *testing.T) {
	t.Parallel()
	b := newBox(t)
	id := b.detach(t, "--stop-signal", "SIGUSR1", "--stop-timeout", "1", busyboxImage, "sh", "-c",
		`trap "echo got-usr1" USR1; echo ready; while true; do sleep 0.1; done`)
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if out, _, _ := b.run(t, "logs", id); out == "ready\n" {
			break
		}
	}
	b.mustRun(t, "stop", id)
	if out, _, _ := b.run(t, "logs", id); out != "ready\ngot-usr1\n" {
		t.Errorf("logs after stop: %q, want the trap's line", out)
	}
	b.waitStatus(t, id[:12], "exited (137)")
	for _, args := range [][]string{{"--stop-signal", "NOPE"}, {"--stop-timeout", "-5"}} {
		_, errOut, code := b.run(t, append(append([]string{"run", "--rm"}, args...), busyboxImage, "true")...)
		if code != 125 {
			t.Errorf("run %v: exit %d, want 125", args, code)
		}
		checkOneLine(t, errOut, args[0])
	}
}
