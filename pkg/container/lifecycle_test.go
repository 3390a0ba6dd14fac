package container_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/layerctl/layerctl/pkg/container"
)

// A container made once runs again with its command and keeps its rw
// layer; WaitExit returns each run's code; Restart stops a running one and
// starts it again.
func TestStartAgainWaitRestart(t *testing.T) {
	s := openFacade(t)
	pullBusybox(t, s)
	ctx := t.Context()

	never := createRun(t, s, "never", container.RunConfig{Cmd: []string{"true"}})
	if code, err := s.WaitExit(ctx, never.ID); err != nil || code != 0 {
		t.Errorf("wait of a container never started: %d, %v; want 0 at once", code, err)
	}

	// Each run appends to a file of the rw layer and exits with the count.
	st := createRun(t, s, "again", container.RunConfig{Cmd: []string{"sh", "-c", "echo x >> /runs; exit $(wc -l < /runs)"}})
	for want := 1; want <= 2; want++ {
		if err := s.StartDetached(st.ID, monitorArgv(s.Root(), st.ID)); err != nil {
			t.Fatalf("start %d: %v", want, err)
		}
		if code, err := s.WaitExit(ctx, st.ID); err != nil || code != want {
			t.Errorf("run %d: wait gave %d, %v", want, code, err)
		}
	}

	svc := createRun(t, s, "svc", container.RunConfig{Cmd: []string{"sh", "-c", "echo up; exec sleep 100"}})
	if err := s.StartDetached(svc.ID, monitorArgv(s.Root(), svc.ID)); err != nil {
		t.Fatal(err)
	}
	first, _ := s.Get(svc.ID)
	if _, err := s.Restart(svc.ID, 0, monitorArgv(s.Root(), svc.ID)); err != nil {
		t.Fatalf("restart: %v", err)
	}
	second, _ := s.Get(svc.ID)
	if second.Pid == 0 || second.Pid == first.Pid {
		t.Errorf("after restart: pid %d (was %d), want a new running process", second.Pid, first.Pid)
	}
	// The cgroup is the new process's: the old monitor did not take it.
	time.Sleep(200 * time.Millisecond)
	if cur, _ := s.Refresh(second); cur.Status() != "running" {
		t.Errorf("after restart: %s, want running", cur.Status())
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := s.WaitExit(short, svc.ID); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("wait on a running container with a short deadline: %v", err)
	}
	if _, err := s.Stop(svc.ID, 0); err != nil {
		t.Fatal(err)
	}
	if code, err := s.WaitExit(ctx, svc.ID); err != nil || code != 137 {
		t.Errorf("wait after stop: %d, %v; want 137 (SIGKILL)", code, err)
	}
	var log strings.Builder
	if err := s.Logs(ctx, svc.ID, container.LogOptions{Tail: -1}, &log, &log); err != nil || log.String() != "up\nup\n" {
		t.Errorf("log of two runs: %q, %v", log.String(), err)
	}

	gone := createRun(t, s, "gone", container.RunConfig{Cmd: []string{"true"}, Remove: true})
	if _, err := s.Restart(gone.ID, 0, nil); err == nil {
		t.Error("restart of a --rm container succeeded")
	}
}

// A wait begun while a detached --rm container runs gets its exit code,
// though the container is gone when it ends; the note goes with the trash.
func TestWaitExitOfRemovedContainer(t *testing.T) {
	s := openFacade(t)
	pullBusybox(t, s)
	st := createRun(t, s, "gone", container.RunConfig{Remove: true, Cmd: []string{"sh", "-c", "sleep 0.3; exit 7"}})
	if err := s.StartDetached(st.ID, monitorArgv(s.Root(), st.ID)); err != nil {
		t.Fatal(err)
	}
	code, err := s.WaitExit(t.Context(), st.ID)
	if err != nil || code != 7 {
		t.Fatalf("wait = %d, %v; want 7", code, err)
	}
	if _, err := s.Get(st.ID); !errors.Is(err, container.ErrContainerNotFound) {
		t.Errorf("the --rm container is still there: %v", err)
	}
	if _, err := s.GC(t.Context()); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(filepath.Join(s.Root(), "trash")); len(left) > 0 {
		t.Errorf("trash after gc: %v", left)
	}
}
