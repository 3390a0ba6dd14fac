package ns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startSleeper starts a detached container whose PID 1 sleeps.
func startSleeper(t *testing.T, spec Spec) *Process {
	t.Helper()
	if spec.Rootfs == "" {
		spec.Rootfs = newRootfs(t)
	}
	spec.Args = []string{"sleep", "30"}
	return start(t, spec)
}

func execOut(t *testing.T, pid int, spec ExecSpec) (int, string) {
	t.Helper()
	var out bytes.Buffer
	spec.Stdout, spec.Stderr = &out, &out
	p, err := Exec(pid, spec)
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	cleanupProcess(t, p, "")
	code, err := p.Wait()
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	return code, out.String()
}

func TestExec(t *testing.T) {
	requireNS(t)
	before := callerNamespaces(t)
	c := startSleeper(t, Spec{Hostname: "exec-box"})
	openNoCloexec(t, "/etc/hostname")
	code, out := execOut(t, c.Pid(), ExecSpec{Args: []string{"sh", "-c",
		"ps -o pid,args | grep '^ *1 '; hostname; test $$ != 1 && echo not-pid-1; " +
			"ls / | grep marker; ls /proc/self/fd | tr '\\n' ' '; echo; grep CapBnd /proc/self/status; echo $HOSTNAME"}})
	want := "    1 sleep 30\nexec-box\nnot-pid-1\nrootfs-marker\n0 1 2 3 \nCapBnd:\t00000000a80425fb\nexec-box\n"
	if code != 0 || out != want {
		t.Fatalf("exit %d, got\n%s\nwant\n%s", code, out, want)
	}
	// User, working directory and env follow the rules of run.
	_, out = execOut(t, c.Pid(), ExecSpec{User: "user", WorkingDir: "/tmp", Env: []string{"X=y"},
		Args: []string{"sh", "-c", "id -u; pwd; echo $X $HOME"}})
	if out != "1000\n/tmp\ny /home/user\n" {
		t.Fatalf("got %q", out)
	}
	// A tty, without a terminal on the caller's side.
	_, out = execOut(t, c.Pid(), ExecSpec{TTY: true, Args: []string{"sh", "-c", "test -t 0 && test -t 1 && echo tty $TERM"}})
	if out != "tty xterm\r\n" {
		t.Fatalf("got %q", out)
	}
	// No thread of the caller is left in the container's namespaces
	// (a thread on its way out may still show for a moment).
	waitFor(t, "the caller's threads back in their namespaces", func() bool {
		return callerNamespaces(t) == before
	})
}

func TestExecMissingCommand(t *testing.T) {
	requireNS(t)
	c := startSleeper(t, Spec{})
	_, err := Exec(c.Pid(), ExecSpec{Args: []string{"foo"}})
	if se := startErrorOf(t, err); se.Code != 127 || se.Msg != `exec: "foo": executable file not found in $PATH` {
		t.Fatalf("got %v", se)
	}
}

// Exec sees the root the container sees, through its volumes too.
func TestExecVolume(t *testing.T) {
	requireNS(t)
	vol := t.TempDir()
	must(t, os.WriteFile(filepath.Join(vol, "f"), []byte("in-volume\n"), 0o644))
	c := startSleeper(t, Spec{Volumes: []Volume{{Source: vol, Target: "/v", ReadOnly: true}}})
	if code, out := execOut(t, c.Pid(), ExecSpec{Args: []string{"cat", "/v/f"}}); code != 0 || out != "in-volume\n" {
		t.Fatalf("exit %d, %q", code, out)
	}
}

// callerNamespaces lists the namespaces of every thread of this process.
func callerNamespaces(t *testing.T) string {
	t.Helper()
	tasks, err := os.ReadDir("/proc/self/task")
	must(t, err)
	seen := map[string]bool{}
	for _, task := range tasks {
		for _, n := range []string{"ipc", "uts", "net", "pid", "pid_for_children", "mnt"} {
			l, err := os.Readlink(fmt.Sprintf("/proc/self/task/%s/ns/%s", task.Name(), n))
			if err != nil {
				continue // the thread ended meanwhile
			}
			seen[n+"="+l] = true
		}
		if root, err := os.Readlink(fmt.Sprintf("/proc/self/task/%s/root", task.Name())); err == nil {
			seen["root="+root] = true
		}
	}
	var s []string
	for k := range seen {
		s = append(s, k)
	}
	return strings.Join(sortStrings(s), " ")
}

func sortStrings(s []string) []string {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}

// WaitPid and Alive work on any pid, as stop from another process needs.
func TestWaitPid(t *testing.T) {
	requireNS(t)
	c := startSleeper(t, Spec{})
	pid := c.Pid()
	if !Alive(pid) {
		t.Fatal("not alive")
	}
	st, err := StartTime(pid)
	if err != nil || st == 0 {
		t.Fatalf("StartTime = %d, %v", st, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := WaitPid(ctx, pid); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitPid on a live process: %v", err)
	}
	must(t, syscall.Kill(pid, syscall.SIGKILL))
	t0 := time.Now()
	if err := WaitPid(context.Background(), pid); err != nil {
		t.Fatal(err)
	}
	if Alive(pid) { // a zombie until Wait reaps it
		t.Fatal("alive after it exited")
	}
	if d := time.Since(t0); d > time.Second {
		t.Fatalf("WaitPid took %v", d)
	}
	if code, _ := c.Wait(); code != 137 {
		t.Fatalf("exit %d", code)
	}
	if err := WaitPid(context.Background(), pid); err != nil {
		t.Fatalf("WaitPid on a reaped pid: %v", err)
	}
}
