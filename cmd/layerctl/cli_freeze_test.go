package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/layerctl/layerctl/pkg/cgroup"
)

// writeFrozenBy rewrites a container's record as a commit that froze it
// leaves it: naming that process by PID and start time.
func writeFrozenBy(t *testing.T, root, id string, pid int, start uint64) {
	t.Helper()
	path := filepath.Join(root, "containers", id, "state.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	rec["frozenBy"] = []map[string]any{{"pid": pid, "start": start}}
	if data, err = json.Marshal(rec); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// deadProcess is a PID and start time of a process that has ended.
func deadProcess(t *testing.T) (int, uint64) {
	t.Helper()
	cmd := exec.Command("/bin/busybox", "sleep", "1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	start, err := startTime(cmd.Process.Pid)
	cmd.Process.Kill()
	cmd.Wait()
	if err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid, start
}

func checkCgroupFrozen(t *testing.T, cg *cgroup.Cgroup, want bool) {
	t.Helper()
	if got, err := cg.Frozen(); err != nil || got != want {
		t.Errorf("the container's cgroup frozen = %v, %v; want %v", got, err, want)
	}
}

// A running container that a commit holds frozen shows as paused in ps and
// inspect. Once that commit is dead (killed while it held the freeze), the
// next ps shows it running and thawed, and exec works at once.
func TestCLIFrozenByCommit(t *testing.T) {
	b := newBox(t)
	id := b.detach(t, "--name", "svc", busyboxImage, "sleep", "1000")
	cg, err := cgroup.Open(id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cg.Thaw() }) // before the box's rm -f
	freeze := func(pid int, start uint64) {
		t.Helper()
		if err := cg.Freeze(); err != nil {
			t.Fatal(err)
		}
		writeFrozenBy(t, b.root, id, pid, start)
	}

	myStart, err := startTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	freeze(os.Getpid(), myStart)
	if r, _ := b.find(t, "svc"); r.Status != "paused" {
		t.Errorf("ps status while a live commit holds it frozen = %q, want paused", r.Status)
	}
	var info struct {
		State struct {
			Status          string
			Running, Paused bool
		}
	}
	if err := json.Unmarshal([]byte(b.mustRun(t, "inspect", "svc")), &info); err != nil {
		t.Fatal(err)
	}
	if s := info.State; s.Status != "paused" || !s.Running || !s.Paused {
		t.Errorf("inspect State %+v, want paused, running and paused", s)
	}
	checkCgroupFrozen(t, cg, true)

	freeze(deadProcess(t))
	if r, _ := b.find(t, "svc"); r.Status != "running" {
		t.Errorf("ps status once the commit is dead = %q, want running", r.Status)
	}
	checkCgroupFrozen(t, cg, false)

	// exec, the first command to find it frozen by a dead commit.
	freeze(deadProcess(t))
	cmd := command(b.root, "exec", "svc", "echo", "ok")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		cg.Thaw()
		err = <-done
		t.Errorf("exec hung: the container stayed frozen")
	}
	if err != nil || out.String() != "ok\n" {
		t.Errorf("exec svc echo ok: %v, stdout %q, stderr %q", err, out.String(), errOut.String())
	}
	checkCgroupFrozen(t, cg, false)
}
