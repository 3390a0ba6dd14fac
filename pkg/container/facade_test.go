package container_test

// A Go program's view of a store: every step below goes through the facade
// (pkg/container, with pkg/image's options and records) and nothing else.
// The leftover checks of the cleanup use the test helpers.

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"

	"github.com/layerctl/layerctl/pkg/container"
	"github.com/layerctl/layerctl/pkg/image"
)

// pullBusybox pulls testdata/mkimage.sh's busybox image as busybox:latest.
func pullBusybox(t *testing.T, s *container.Store) image.Record {
	t.Helper()
	dir, err := busyboxLayout()
	if err != nil {
		t.Fatal(err)
	}
	rec, err := s.Pull(t.Context(), "oci:"+dir+":latest", image.PullOptions{Name: "busybox:latest"})
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	return rec
}

// createRun makes a container of busybox that runs cmd.
func createRun(t *testing.T, s *container.Store, name string, rc container.RunConfig) container.State {
	t.Helper()
	st, err := s.Create(t.Context(), container.CreateOptions{Image: "busybox", Name: name, Hostname: "box", Run: &rc})
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return st
}

func TestFacadePullResolveVerify(t *testing.T) {
	s := openFacade(t)
	rec := pullBusybox(t, s)
	ctx := t.Context()

	imgs, err := s.Images()
	if err != nil || len(imgs) != 1 || imgs[0].ID != rec.ID {
		t.Fatalf("images: %v, %v; want %s", imgs, err, rec.ID)
	}
	if refs, err := s.ImageRefs(); err != nil || refs["docker.io/library/busybox:latest"] != rec.ID {
		t.Errorf("image refs: %v, %v", refs, err)
	}
	if got, err := s.ResolveImage("busybox"); err != nil || got.ID != rec.ID {
		t.Errorf("resolve image busybox: %s, %v", got.ID, err)
	}
	if raw, err := s.ImageConfig(rec.ID); err != nil || digest.FromBytes(raw) != rec.ID {
		t.Errorf("image config: %v", err)
	}
	layers, err := s.Layers()
	if err != nil || len(layers) != len(rec.ChainIDs) {
		t.Fatalf("layers: %v, %v; want %d", layers, err, len(rec.ChainIDs))
	}
	top := rec.ChainIDs[len(rec.ChainIDs)-1]
	for _, ref := range []string{top.String(), top.Encoded(), top.Encoded()[:12], "sha256:" + top.Encoded()[:12]} {
		if got, err := s.ResolveLayer(ref); err != nil || got != top {
			t.Errorf("resolve layer %s: %s, %v", ref, got, err)
		}
	}
	if _, err := s.ResolveLayer("zzzz"); !errors.Is(err, container.ErrLayerNotFound) {
		t.Errorf("resolve layer zzzz: %v, want ErrNotFound", err)
	}
	for _, ref := range []string{"busybox", rec.ID.String(), top.Encoded()[:12]} {
		got, err := s.ResolveLayers(ref)
		want := rec.ChainIDs
		if ref == top.Encoded()[:12] {
			want = []digest.Digest{top}
		}
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("resolve layers %s: %v, %v; want %v", ref, got, err, want)
		}
	}
	for _, id := range rec.ChainIDs {
		if err := s.Verify(ctx, id); err != nil {
			t.Errorf("verify %s: %v", id, err)
		}
	}
	info, err := s.Info()
	if err != nil || info.Driver != "overlay" || info.Images != 1 || info.Layers != len(rec.ChainIDs) || info.Root != s.Root() {
		t.Errorf("info: %+v, %v", info, err)
	}
}

// A build step's cycle: create, run without a terminal, commit; then rmi
// and gc free everything again.
func TestFacadeRunCommitRemoveGC(t *testing.T) {
	s := openFacade(t)
	base := pullBusybox(t, s)
	ctx := t.Context()

	createRun(t, s, "step", container.RunConfig{Cmd: []string{"sh", "-c", "echo built > /built; cat; echo done"}})
	var out bytes.Buffer
	code, err := s.Run(ctx, "step", container.Stdio{Stdin: strings.NewReader("input\n"), Stdout: &out, Stderr: &out})
	if err != nil || code != 0 || out.String() != "input\ndone\n" {
		t.Fatalf("run: code %d, %v, output %q", code, err, out.String())
	}
	name, err := image.ParseName("step:1")
	if err != nil {
		t.Fatal(err)
	}
	rec, meta, err := s.Commit(ctx, "step", container.CommitOptions{CommitOptions: image.CommitOptions{Name: name}})
	if err != nil {
		t.Fatalf("commit: %v", err)
	}
	if got, err := s.ResolveImage("step:1"); err != nil || got.ID != rec.ID || len(got.ChainIDs) != len(base.ChainIDs)+1 || got.Top() != meta.ChainID {
		t.Fatalf("committed image: %+v, %v", got, err)
	}

	createRun(t, s, "fails", container.RunConfig{Cmd: []string{"sh", "-c", "exit 3"}})
	if code, err := s.Run(ctx, "fails", container.Stdio{Stdout: &out, Stderr: &out}); err != nil || code != 3 {
		t.Errorf("run of exit 3: code %d, %v", code, err)
	}

	// Containers hold busybox: it keeps its record, -f takes its names.
	if _, err := s.RemoveImage("busybox", false); !errors.Is(err, container.ErrImageInUse) {
		t.Errorf("rmi of a used image: %v, want ErrInUse", err)
	}
	r, err := s.RemoveImage("busybox", true)
	if err != nil || !r.Kept || r.ID != "" || !slices.Equal(r.Untagged, []string{"docker.io/library/busybox:latest"}) {
		t.Errorf("rmi -f of a used image: %+v, %v", r, err)
	}
	for _, c := range []string{"step", "fails"} {
		if _, err := s.Remove(c, false); err != nil {
			t.Fatalf("rm %s: %v", c, err)
		}
	}
	for _, ref := range []string{"step:1", base.ID.String()} {
		if r, err := s.RemoveImage(ref, false); err != nil || r.ID == "" {
			t.Fatalf("rmi %s: %+v, %v", ref, r, err)
		}
	}
	if layers, err := s.Layers(); err != nil || len(layers) != 0 {
		t.Errorf("layers after rmi: %v, %v", layers, err)
	}
	res, err := s.GC(ctx)
	if err != nil || len(res.Layers) != 0 || res.Blobs == 0 {
		t.Errorf("gc: %+v, %v; want the images' blobs", res, err)
	}
	if res, err := s.GC(ctx); err != nil || len(res.Layers)+res.Blobs+res.FlatBases != 0 {
		t.Errorf("second gc: %+v, %v; want nothing", res, err)
	}
	if info, err := s.Info(); err != nil || info.Images != 0 || info.Layers != 0 {
		t.Errorf("info after gc: %+v, %v", info, err)
	}
}

// A process that cannot start is a StartError with Docker's code, and
// --rm takes its container.
func TestFacadeRunNotStarted(t *testing.T) {
	s := openFacade(t)
	pullBusybox(t, s)
	for _, tc := range []struct {
		name   string
		remove bool
	}{{"kept", false}, {"removed", true}} {
		t.Run(tc.name, func(t *testing.T) {
			st := createRun(t, s, tc.name, container.RunConfig{Cmd: []string{"/no/such/command"}, Remove: tc.remove})
			_, err := s.Run(t.Context(), st.ID, container.Stdio{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}})
			var se *container.StartError
			if !errors.As(err, &se) || se.ExitCode() != 127 {
				t.Fatalf("run of a missing command: %v, want a StartError with code 127", err)
			}
			_, err = s.Resolve(st.ID)
			if tc.remove && !errors.Is(err, container.ErrNotFound) {
				t.Errorf("--rm container after a failed start: %v, want ErrNotFound", err)
			}
			if !tc.remove && err != nil {
				t.Errorf("container after a failed start: %v", err)
			}
		})
	}
}

// cancelOnWrite cancels a context at the process's first output: it runs.
type cancelOnWrite struct {
	once   sync.Once
	cancel context.CancelFunc
}

func (w *cancelOnWrite) Write(p []byte) (int, error) {
	w.once.Do(w.cancel)
	return len(p), nil
}

func TestFacadeRunCancel(t *testing.T) {
	s := openFacade(t)
	pullBusybox(t, s)
	st := createRun(t, s, "sleeper", container.RunConfig{Cmd: []string{"sh", "-c", "echo up; exec sleep 1000"}})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	w := &cancelOnWrite{cancel: cancel}
	code, err := s.Run(ctx, st.ID, container.Stdio{Stdout: w, Stderr: w})
	if !errors.Is(err, context.Canceled) || code != 128+9 {
		t.Fatalf("cancelled run: code %d, %v; want 137, context.Canceled", code, err)
	}
	if got, err := s.Get(st.ID); err != nil || got.Pid != 0 || got.ExitCode == nil || *got.ExitCode != 137 {
		t.Errorf("record after a cancelled run: %+v, %v", got, err)
	}
}

// waitEnded waits for a detached container's monitor to record its end.
func waitEnded(t *testing.T, s *container.Store, id string) container.State {
	t.Helper()
	for range 3000 {
		st, err := s.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		if st.ExitCode != nil && st.Pid == 0 {
			return st
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("container %s: no end recorded", id)
	return container.State{}
}

func TestFacadeStartDetached(t *testing.T) {
	s := openFacade(t)
	pullBusybox(t, s)

	st := createRun(t, s, "bg", container.RunConfig{Cmd: []string{"sh", "-c", "echo detached; exit 7"}})
	if err := s.StartDetached(st.ID, monitorArgv(s.Root(), st.ID)); err != nil {
		t.Fatalf("start detached: %v", err)
	}
	if end := waitEnded(t, s, st.ID); *end.ExitCode != 7 {
		t.Errorf("exit code %d, want 7", *end.ExitCode)
	}
	var log strings.Builder
	if err := s.Logs(t.Context(), st.ID, container.LogOptions{Tail: -1}, &log, &log); err != nil || log.String() != "detached\n" {
		t.Errorf("log: %q, %v", log.String(), err)
	}

	// A process that cannot start is the monitor's report, and --rm
	// takes its container.
	bad := createRun(t, s, "bad", container.RunConfig{Cmd: []string{"/no/such/command"}, Remove: true})
	err := s.StartDetached(bad.ID, monitorArgv(s.Root(), bad.ID))
	var se *container.StartError
	if !errors.As(err, &se) || se.ExitCode() != 127 {
		t.Fatalf("detached start of a missing command: %v, want a StartError with code 127", err)
	}
	if _, err := s.Resolve(bad.ID); !errors.Is(err, container.ErrNotFound) {
		t.Errorf("a --rm container that did not start: %v, want ErrNotFound", err)
	}
}

func TestMonitorReport(t *testing.T) {
	for _, tc := range []struct {
		msg      string
		wantCode int // 0: no error
		start    bool
		wantText string
	}{
		{"ok", 0, false, ""},
		{"start 127 exec: \"x\": not found", 127, true, "exec: \"x\": not found"},
		{"start 125 cgroup: no space", 125, true, "cgroup: no space"},
		{"fail 125 open store: locked", 125, false, "open store: locked"},
		{"", 125, false, "the monitor ended before the container started; see LOG"},
		{"what", 125, false, "the monitor ended before the container started; see LOG"},
		{"start x y", 125, false, "the monitor ended before the container started; see LOG"},
	} {
		err := container.MonitorReport(tc.msg, "LOG")
		if tc.wantCode == 0 {
			if err != nil {
				t.Errorf("%q: %v", tc.msg, err)
			}
			continue
		}
		var se *container.StartError
		var me *container.MonitorError
		switch {
		case tc.start && errors.As(err, &se):
			if se.ExitCode() != tc.wantCode || se.Msg != tc.wantText {
				t.Errorf("%q: start error %d %q", tc.msg, se.ExitCode(), se.Msg)
			}
		case !tc.start && errors.As(err, &me):
			if me.Code != tc.wantCode || me.Error() != tc.wantText {
				t.Errorf("%q: monitor error %d %q", tc.msg, me.Code, me.Error())
			}
		default:
			t.Errorf("%q: %T %v", tc.msg, err, err)
		}
	}
}
