package ns

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Exec joins only the process it was given: one whose PID is gone, or now
// names another process (a start time other than the recorded one), is an
// error, and nothing runs.
func TestExecChecksTheProcess(t *testing.T) {
	requireNS(t)
	rootfs := newRootfs(t)
	c := startSleeper(t, Spec{Rootfs: rootfs})
	started, err := StartTime(c.Pid())
	must(t, err)
	dead := startSleeper(t, Spec{})
	deadStart, err := StartTime(dead.Pid())
	must(t, err)
	must(t, dead.Signal(unix.SIGKILL))
	dead.Wait()

	tests := []struct {
		name  string
		pid   int
		start uint64
	}{
		{"gone", dead.Pid(), deadStart},
		{"other-process", c.Pid(), started + 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Exec(tc.pid, ExecSpec{PidStart: tc.start, Args: []string{"touch", "/ran-" + tc.name}})
			if err == nil {
				p.Wait()
				t.Fatal("Exec joined a process other than the recorded one")
			}
			var se *StartError
			if errors.As(err, &se) || !strings.Contains(err.Error(), "exec in container") {
				t.Errorf("Exec = %T %v, want a plain error naming the container", err, err)
			}
			if _, err := os.Stat(filepath.Join(rootfs, "ran-"+tc.name)); err == nil {
				t.Error("the command ran")
			}
		})
	}
	// The recorded process itself is joined.
	if code, out := execOut(t, c.Pid(), ExecSpec{PidStart: started, Args: []string{"echo", "joined"}}); code != 0 || out != "joined\n" {
		t.Fatalf("exec into the recorded process: exit %d, %q", code, out)
	}
}
