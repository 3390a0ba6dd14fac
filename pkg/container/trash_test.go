package container_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/layerctl/layerctl/pkg/container"
	"github.com/layerctl/layerctl/pkg/union/uniontest"
)

// checkGone asserts that nothing of container id shows: no record, no
// entry in List, no directory, no mount under the store, no cgroup.
func (e runEnv) checkGone(t *testing.T, id string) {
	t.Helper()
	if _, err := e.cs.Get(id); !errors.Is(err, container.ErrContainerNotFound) {
		t.Errorf("Get after the end: %v, want ErrContainerNotFound", err)
	}
	if all, err := e.cs.List(); err != nil || len(all) != 0 {
		t.Errorf("List after the end = %d containers, %v; want none", len(all), err)
	}
	if _, err := os.Lstat(e.cs.Dir(id)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("container dir after the end: %v, want it gone", err)
	}
	if m := uniontest.MountsUnder(t, e.ls.Root()); len(m) != 0 {
		t.Errorf("mounts left under the store: %v", m)
	}
	checkNoCgroup(t, id)
}

// trashed lists the trash's entries.
func (e runEnv) trashed(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(e.ls.Paths().Trash())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var names []string
	for _, d := range entries {
		names = append(names, d.Name())
	}
	return names
}

// --rm: once Wait returns the container's own code, nothing of it shows;
// its directory waits in the trash, and the next start deletes it.
func TestRunRemoveLeavesNothing(t *testing.T) {
	e := newRunEnv(t)
	s, r := e.start(t, container.RunConfig{Cmd: []string{"sh", "-c", "exit 3"}, Remove: true}, &bytes.Buffer{})
	if code, err := r.Wait(); code != 3 || err != nil {
		t.Fatalf("Wait = %d, %v; want 3, nil", code, err)
	}
	e.checkGone(t, s.ID)
	if got := e.trashed(t); len(got) != 1 || got[0] != s.ID {
		t.Fatalf("trash = %v, want just %s", got, s.ID)
	}

	next, r := e.start(t, container.RunConfig{Cmd: []string{"true"}, Remove: true}, &bytes.Buffer{})
	if code, err := r.Wait(); code != 0 || err != nil {
		t.Fatalf("second Wait = %d, %v", code, err)
	}
	e.checkGone(t, next.ID)
	if got := e.trashed(t); len(got) != 1 || got[0] != next.ID {
		t.Errorf("trash after the next run = %v, want just %s (the first one reclaimed)", got, next.ID)
	}
	if _, err := e.cs.GC(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := e.trashed(t); len(got) != 0 {
		t.Errorf("trash after gc = %v, want empty", got)
	}
}

// A run that dies between the phases of its end leaves nothing the next
// command does not clean up: the process reaped but the container not yet
// discarded (Refresh, as ps does, removes it), or a trash entry deleted in
// part (the next start finishes it).
func TestRunRemoveCrashBetweenPhases(t *testing.T) {
	e := newRunEnv(t)
	s, r := e.start(t, container.RunConfig{Cmd: []string{"sleep", "1000"}, Remove: true}, &bytes.Buffer{})
	// The run "dies" after its process: killed and reaped here, no Wait.
	if err := syscall.Kill(r.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(r.Pid(), &ws, 0, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cs.Refresh(e.get(t, s.ID)); !errors.Is(err, container.ErrContainerNotFound) {
		t.Fatalf("Refresh of the ended --rm container = %v, want ErrContainerNotFound", err)
	}
	e.checkGone(t, s.ID)

	// A trash entry half deleted: its record and rw dir already gone.
	half := filepath.Join(e.ls.Paths().Trash(), "half")
	if err := os.MkdirAll(filepath.Join(half, "init", "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	next, r := e.start(t, container.RunConfig{Cmd: []string{"true"}, Remove: true}, &bytes.Buffer{})
	if code, err := r.Wait(); code != 0 || err != nil {
		t.Fatalf("Wait = %d, %v", code, err)
	}
	e.checkGone(t, next.ID)
	if _, err := os.Lstat(half); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the half-deleted trash entry is still there (%v)", err)
	}
}
