package container_test

// Tests of a running container's freeze during a commit: a committer that
// dies while it holds the freeze must not leave the container frozen for
// good, and a live one shows as paused.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/layerctl/layerctl/pkg/cgroup"
	"github.com/layerctl/layerctl/pkg/container"
	"github.com/layerctl/layerctl/pkg/image"
	"github.com/layerctl/layerctl/pkg/layer"
	"github.com/layerctl/layerctl/pkg/ns"
	"github.com/layerctl/layerctl/pkg/ns/nstest"
	"github.com/layerctl/layerctl/pkg/union"
)

// frozenCommitEnv makes the test binary, re-executed with a store root and
// a container ID as its arguments, commit that container and stay inside
// the commit, holding the container frozen, until its stdin ends.
const frozenCommitEnv = "CONTAINER_TEST_COMMIT_HOLDING_FREEZE"

func commitHoldingFreeze(root, id string) int {
	ls, err := layer.Open(root, layer.OpenOptions{Driver: union.Overlay, FormatFor: union.WhiteoutFormat})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer ls.Close()
	im, err := image.NewImages(ls)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cs, err := container.NewStore(ls, im, union.Detect())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	container.SetAfterFreeze(func() {
		fmt.Println("frozen")
		io.Copy(io.Discard, os.Stdin)
	})
	if _, _, err := cs.Commit(context.Background(), id, container.CommitOptions{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// startFrozenCommit starts a committer of container id and returns once it
// holds the container frozen. It is killed when the test ends.
func startFrozenCommit(t *testing.T, e runEnv, id string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], e.ls.Root(), id)
	cmd.Env = append(os.Environ(), frozenCommitEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if line != "frozen\n" {
		t.Fatalf("the committer said %q, %v (stderr %q), want it frozen", line, err, stderr.String())
	}
	return cmd
}

// checkFrozen asserts the state of a container's freezer.
func checkFrozen(t *testing.T, id string, want bool) {
	t.Helper()
	cg, err := cgroup.Open(id)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := cg.Frozen(); err != nil || got != want {
		t.Errorf("cgroup frozen = %v, %v; want %v", got, err, want)
	}
}

// promptly runs fn and fails the test if it has not returned within a
// bound far beyond its work: a frozen container makes it hang. The
// container is thawed then, so that fn can end.
func promptly(t *testing.T, id, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); fn() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		if cg, err := cgroup.Open(id); err == nil {
			cg.Thaw()
		}
		<-done
		t.Errorf("%s hung: the container stayed frozen", what)
	}
}

// execEcho runs echo in the container and wants its output.
func execEcho(t *testing.T, e runEnv, id string) {
	t.Helper()
	var out bytes.Buffer
	var code int
	var err error
	// Starting the process hangs too: its init step joins the cgroup.
	promptly(t, id, "exec", func() {
		var p *ns.Process
		p, err = e.cs.Exec(id, container.ExecOptions{Args: []string{"echo", "ok"}, Stdio: container.Stdio{Stdout: &out, Stderr: &out}})
		if err == nil {
			code, err = p.Wait()
		}
	})
	if code != 0 || err != nil || out.String() != "ok\n" {
		t.Errorf("exec echo ok = %d, %v, %q", code, err, out.String())
	}
}

// Commits killed while they hold a running container frozen: while one
// lived, the container showed as paused and stayed frozen; once both are
// dead, the next command thaws it, and exec works.
func TestCommitKilledWhileFrozen(t *testing.T) {
	e := newRunEnv(t)
	s, r := e.start(t, container.RunConfig{Cmd: []string{"sleep", "1000"}}, &bytes.Buffer{})
	defer func() {
		if cg, err := cgroup.Open(s.ID); err == nil {
			cg.Thaw() // a frozen process cannot die
		}
		e.cs.Kill(s.ID, syscall.SIGKILL)
		r.Wait()
	}()

	committers := []*exec.Cmd{startFrozenCommit(t, e, s.ID), startFrozenCommit(t, e, s.ID)}
	for i, committer := range committers {
		if got, err := e.cs.Refresh(e.get(t, s.ID)); err != nil || got.Status() != "paused" {
			t.Errorf("status while %d commits hold it frozen = %q, %v; want paused", len(committers)-i, got.Status(), err)
		}
		if info, err := e.cs.Inspect(s.ID); err != nil || info.Status != "paused" {
			t.Errorf("inspect status while %d commits hold it frozen = %q, %v; want paused", len(committers)-i, info.Status, err)
		}
		checkFrozen(t, s.ID, true)
		committer.Process.Kill()
		committer.Wait()
	}
	if got, err := e.cs.Refresh(e.get(t, s.ID)); err != nil || got.Status() != "running" {
		t.Errorf("status once the commit is dead = %q, %v; want running", got.Status(), err)
	}
	if got := e.get(t, s.ID).Status(); got != "running" {
		t.Errorf("recorded status once settled = %q, want running", got)
	}
	checkFrozen(t, s.ID, false)
	execEcho(t, e, s.ID)
}

// writeFrozenBy rewrites a container's record as a committer that froze it
// leaves it: naming that process, its PID and start time.
func writeFrozenBy(t *testing.T, e runEnv, id string, pid int, start uint64) {
	t.Helper()
	path := filepath.Join(e.cs.Dir(id), "state.json")
	var rec map[string]any
	if err := json.Unmarshal([]byte(readFile(t, path)), &rec); err != nil {
		t.Fatal(err)
	}
	rec["frozenBy"] = []map[string]any{{"pid": pid, "start": start}}
	data, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// Every command on a running container first thaws one that a dead
// committer left frozen. The committer recorded here has this test's PID
// with another start time: a PID reused since is not the committer.
func TestStaleFreezeSettled(t *testing.T) {
	e := newRunEnv(t)
	myStart, err := ns.StartTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// ended: the command makes the container's process end (trapped
	// SIGTERM: exit 0).
	tests := []struct {
		name  string
		do    func(t *testing.T, id string)
		ended bool
	}{
		{name: "ps", do: func(t *testing.T, id string) {
			if _, err := e.cs.Refresh(e.get(t, id)); err != nil {
				t.Error(err)
			}
		}},
		{name: "inspect", do: func(t *testing.T, id string) {
			if info, err := e.cs.Inspect(id); err != nil || info.Status != "running" {
				t.Errorf("inspect status %q, %v; want running", info.Status, err)
			}
		}},
		{name: "exec", do: func(t *testing.T, id string) { execEcho(t, e, id) }},
		{name: "commit", do: func(t *testing.T, id string) {
			if _, _, err := e.cs.Commit(t.Context(), id, container.CommitOptions{}); err != nil {
				t.Error(err)
			}
		}},
		{name: "kill", ended: true, do: func(t *testing.T, id string) {
			if _, err := e.cs.Kill(id, syscall.SIGTERM); err != nil {
				t.Error(err)
			}
		}},
		{name: "stop", ended: true, do: func(t *testing.T, id string) {
			promptly(t, id, "stop", func() {
				if _, err := e.cs.Stop(id, time.Minute); err != nil {
					t.Error(err)
				}
			})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, r := e.start(t, container.RunConfig{Cmd: []string{"sh", "-c", `trap "exit 0" TERM; sleep 1000 & wait`}}, &bytes.Buffer{})
			waited := false
			defer func() {
				if cg, err := cgroup.Open(s.ID); err == nil {
					cg.Thaw()
				}
				if !waited {
					e.cs.Kill(s.ID, syscall.SIGKILL)
					r.Wait()
				}
			}()
			nstest.WaitCaught(t, r.Pid(), syscall.SIGTERM)
			cg, err := cgroup.Open(s.ID)
			if err != nil {
				t.Fatal(err)
			}
			if err := cg.Freeze(); err != nil {
				t.Fatal(err)
			}
			writeFrozenBy(t, e, s.ID, os.Getpid(), myStart+1)

			tc.do(t, s.ID)
			if tc.ended {
				var code int
				promptly(t, s.ID, "the container's end", func() { code, err = r.Wait() })
				waited = true
				if code != 0 || err != nil {
					t.Errorf("the container ended with %d, %v; want 0 (its SIGTERM trap)", code, err)
				}
				return
			}
			checkFrozen(t, s.ID, false)
			if got := e.get(t, s.ID).Status(); got != "running" {
				t.Errorf("recorded status %q, want running", got)
			}
		})
	}
}

// A container stopped while a commit holds it frozen (its cgroup gone
// before the commit lets go) does not fail the commit: nothing is left to
// thaw.
func TestCommitOfContainerStoppedMeanwhile(t *testing.T) {
	e := newRunEnv(t)
	s, r := e.start(t, container.RunConfig{Cmd: []string{"sleep", "1000"}}, &bytes.Buffer{})
	waited := false
	defer func() {
		if !waited {
			if cg, err := cgroup.Open(s.ID); err == nil {
				cg.Thaw()
			}
			e.cs.Kill(s.ID, syscall.SIGKILL)
			r.Wait()
		}
	}()
	container.SetAfterFreeze(func() {
		if _, err := e.cs.Stop(s.ID, 0); err != nil {
			t.Errorf("stop: %v", err)
		}
		r.Wait()
		waited = true
	})
	defer container.SetAfterFreeze(nil)
	if _, _, err := e.cs.Commit(t.Context(), s.ID, container.CommitOptions{}); err != nil {
		t.Errorf("commit of a container stopped meanwhile: %v", err)
	}
	e.checkReleased(t, s.ID, "exited (137)")
}

// A commit that ends while another one of the same process still reads
// the rw layer leaves the container frozen for it.
func TestNestedCommitsKeepFreeze(t *testing.T) {
	e := newRunEnv(t)
	s, r := e.start(t, container.RunConfig{Cmd: []string{"sleep", "1000"}}, &bytes.Buffer{})
	defer func() {
		if cg, err := cgroup.Open(s.ID); err == nil {
			cg.Thaw()
		}
		e.cs.Kill(s.ID, syscall.SIGKILL)
		r.Wait()
	}()
	container.SetAfterFreeze(func() {
		container.SetAfterFreeze(nil)
		if _, _, err := e.cs.Commit(t.Context(), s.ID, container.CommitOptions{}); err != nil {
			t.Errorf("inner commit: %v", err)
		}
		checkFrozen(t, s.ID, true)
	})
	defer container.SetAfterFreeze(nil)
	if _, _, err := e.cs.Commit(t.Context(), s.ID, container.CommitOptions{}); err != nil {
		t.Errorf("outer commit: %v", err)
	}
	checkFrozen(t, s.ID, false)
	if got := e.get(t, s.ID).Status(); got != "running" {
		t.Errorf("status after both commits %q, want running", got)
	}
}
