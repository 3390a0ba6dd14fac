package container_test

// Tests of a container's process through the library: Start and Wait and
// the record they keep, Stop, Kill, Exec and Refresh, with real namespaces
// and cgroups over testdata/mkimage.sh's busybox image.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/layerctl/layerctl/pkg/image/registrytest"
	"github.com/layerctl/layerctl/pkg/ns/nstest"

	"github.com/layerctl/layerctl/pkg/cgroup"
	"github.com/layerctl/layerctl/pkg/container"
	"github.com/layerctl/layerctl/pkg/image"
	"github.com/layerctl/layerctl/pkg/ns"
	"github.com/layerctl/layerctl/pkg/union"
	"github.com/layerctl/layerctl/pkg/union/uniontest"
)

// busyboxDir is where TestMain's busybox layout is built, once, when a
// test first needs it.
var busyboxDir string

func TestMain(m *testing.M) {
	// Start and Exec re-execute this binary as the container's init step.
	ns.Init()
	if os.Getenv(frozenCommitEnv) != "" {
		os.Exit(commitHoldingFreeze(os.Args[1], os.Args[2]))
	}
	if len(os.Args) == 4 && os.Args[1] == monitorArg {
		os.Exit(serveMonitor(os.Args[2:]))
	}
	code := m.Run()
	if busyboxDir != "" {
		os.RemoveAll(busyboxDir)
	}
	os.Exit(code)
}

var busyboxLayout = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "container-run-test-")
	if err != nil {
		return "", err
	}
	busyboxDir = dir
	return registrytest.BuildImage(dir, "busybox")
})

// requireRun skips a test that needs to run containers where it cannot:
// root, overlay, cgroups, namespaces and the tools that build the image.
func requireRun(t *testing.T) {
	t.Helper()
	requireDriver(t, union.Overlay)
	if _, err := exec.LookPath("umoci"); err != nil {
		t.Skip("umoci not found (apt-get install umoci): it builds the busybox image")
	}
	if err := exec.Command("ldd", "/bin/busybox").Run(); err == nil {
		t.Skip("/bin/busybox is dynamically linked (apt-get install busybox-static)")
	}
	if _, err := cgroup.Detect(); err != nil {
		t.Skip(err)
	}
	probe := exec.Command("/bin/busybox", "true")
	probe.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWUTS}
	if err := probe.Run(); err != nil {
		t.Skipf("namespaces unavailable: %v", err)
	}
}

// runEnv is an overlay store with the busybox image. When the test ends
// every container is removed, and no mount or cgroup of them may be left.
type runEnv struct {
	env
	image string
}

func newRunEnv(t *testing.T) runEnv {
	t.Helper()
	requireRun(t)
	dir, err := busyboxLayout()
	if err != nil {
		t.Fatal(err)
	}
	e := runEnv{env: newEnv(t, union.Overlay)}
	uniontest.CleanupMounts(t, e.ls.Root())
	rec, err := image.Pull(t.Context(), e.ls, e.im, "oci:"+dir+":latest", image.PullOptions{Name: "busybox:latest"})
	if err != nil {
		t.Fatal(err)
	}
	e.image = rec.ID.String()
	t.Cleanup(func() {
		all, _ := e.cs.List()
		for _, s := range all {
			if _, err := e.cs.Remove(s.ID, true); err != nil {
				t.Errorf("clean up: remove %s: %v", s.ID, err)
			}
			checkNoCgroup(t, s.ID)
		}
	})
	return e
}

// create makes a container that runs rc.
func (e runEnv) create(t *testing.T, rc container.RunConfig) container.State {
	t.Helper()
	s, err := e.cs.Create(t.Context(), container.CreateOptions{Image: e.image, Hostname: "box", Run: &rc})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// start creates and starts a container running cmd; its output goes to out.
func (e runEnv) start(t *testing.T, rc container.RunConfig, out *bytes.Buffer) (container.State, *container.Running) {
	t.Helper()
	s := e.create(t, rc)
	r, err := e.cs.Start(s.ID, container.Stdio{Stdout: out, Stderr: out})
	if err != nil {
		t.Fatalf("start %v: %v", rc.Cmd, err)
	}
	return s, r
}

// get reads a container's record.
func (e runEnv) get(t *testing.T, id string) container.State {
	t.Helper()
	s, err := e.cs.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkReleased asserts what a container whose process is gone holds: no
// pid, no mount, no cgroup, and this status.
func (e runEnv) checkReleased(t *testing.T, id, status string) {
	t.Helper()
	s := e.get(t, id)
	if s.Pid != 0 || s.Status() != status {
		t.Errorf("pid %d, status %q; want 0, %q", s.Pid, s.Status(), status)
	}
	if s.MountCount != 0 || union.Mounted(e.cs.MergedDir(id)) {
		t.Errorf("rootfs still mounted (count %d)", s.MountCount)
	}
	checkNoCgroup(t, id)
}

// checkNoCgroup fails the test if container id's cgroup exists.
func checkNoCgroup(t *testing.T, id string) {
	t.Helper()
	if cg, err := cgroup.Open(id); err == nil {
		t.Errorf("cgroup of %s left: %v", id, cg.Paths())
		cg.Kill()
		cg.Remove()
	}
}

// Wait returns the process's code, records it and releases the rootfs and
// cgroup; a signal's death is 128+n.
func TestRunExitCode(t *testing.T) {
	e := newRunEnv(t)
	for _, tc := range []struct {
		name string
		cmd  []string
		out  string
		code int
	}{
		{"zero", []string{"sh", "-c", "echo $$ $(hostname)"}, "1 box\n", 0},
		{"seven", []string{"sh", "-c", "exit 7"}, "", 7},
		{"killed", []string{"sleep", "1000"}, "", 137},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			s, r := e.start(t, container.RunConfig{Cmd: tc.cmd}, &out)
			if running := e.get(t, s.ID); running.Pid != r.Pid() || running.Status() != "running" {
				t.Errorf("while running: pid %d, status %q; want %d, running", running.Pid, running.Status(), r.Pid())
			}
			if tc.code == 137 {
				if _, err := e.cs.Kill(s.ID, syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
			}
			code, err := r.Wait()
			if err != nil || code != tc.code || out.String() != tc.out {
				t.Errorf("Wait = %d, %v, output %q; want %d, nil, %q", code, err, out.String(), tc.code, tc.out)
			}
			e.checkReleased(t, s.ID, fmt.Sprintf("exited (%d)", tc.code))
		})
	}
}

// The run's mount counts from the start, beside a mount by another command:
// the rootfs stays for that one when the process ends.
func TestRunMountCounted(t *testing.T) {
	e := newRunEnv(t)
	s, r := e.start(t, container.RunConfig{Cmd: []string{"sleep", "1000"}}, &bytes.Buffer{})
	if got := e.get(t, s.ID); got.MountCount != 1 || got.Pid != r.Pid() {
		t.Errorf("while running: mount count %d, pid %d; want 1, %d", got.MountCount, got.Pid, r.Pid())
	}
	if _, err := e.cs.Mount(s.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cs.Kill(s.ID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if code, err := r.Wait(); code != 137 || err != nil {
		t.Fatalf("Wait = %d, %v", code, err)
	}
	if got := e.get(t, s.ID); got.MountCount != 1 || !union.Mounted(e.cs.MergedDir(s.ID)) {
		t.Errorf("after the end: mount count %d, mounted %v; want the other command's mount", got.MountCount, union.Mounted(e.cs.MergedDir(s.ID)))
	}
	if err := e.cs.Umount(s.ID, false); err != nil {
		t.Fatal(err)
	}
	e.checkReleased(t, s.ID, "exited (137)")
}

// A failed start leaves the container as it was: created, unmounted,
// without a cgroup; the error carries Docker's code.
func TestRunStartFailure(t *testing.T) {
	e := newRunEnv(t)
	for _, tc := range []struct {
		name string
		rc   container.RunConfig
		code int
	}{
		{"not-found", container.RunConfig{Cmd: []string{"nosuchcmd"}}, ns.CodeNotFound},
		{"not-executable", container.RunConfig{Cmd: []string{"/etc/passwd"}}, ns.CodeCannotRun},
		{"workdir-under-a-file", container.RunConfig{Cmd: []string{"pwd"}, WorkingDir: "/etc/passwd/x"}, ns.CodeSetup},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := e.create(t, tc.rc)
			_, err := e.cs.Start(s.ID, container.Stdio{})
			var se *ns.StartError
			if !errors.As(err, &se) || se.Code != tc.code {
				t.Fatalf("Start: %v, want a StartError with code %d", err, tc.code)
			}
			e.checkReleased(t, s.ID, "created")
		})
	}
}

// --rm: the container goes once Wait has seen its process end.
func TestRunRemoveAfterExit(t *testing.T) {
	e := newRunEnv(t)
	s, r := e.start(t, container.RunConfig{Cmd: []string{"true"}, Remove: true}, &bytes.Buffer{})
	if code, err := r.Wait(); code != 0 || err != nil {
		t.Fatalf("Wait = %d, %v", code, err)
	}
	if _, err := e.cs.Get(s.ID); !errors.Is(err, container.ErrContainerNotFound) {
		t.Errorf("Get after Wait: %v, want ErrNotFound", err)
	}
	checkNoCgroup(t, s.ID)
}

// A container removed (rm -f) while a Wait is pending: Wait still reports
// the kill, and nothing is left to record.
func TestRunRemovedWhileWaiting(t *testing.T) {
	e := newRunEnv(t)
	s, r := e.start(t, container.RunConfig{Cmd: []string{"sleep", "1000"}}, &bytes.Buffer{})
	if _, err := e.cs.Remove(s.ID, true); err != nil {
		t.Fatal(err)
	}
	if code, err := r.Wait(); code != 137 || err != nil {
		t.Errorf("Wait = %d, %v; want 137, nil", code, err)
	}
	checkNoCgroup(t, s.ID)
}

// The kernel's OOM kill of a container over its memory limit is 137 with
// ErrOOM.
func TestRunOOM(t *testing.T) {
	e := newRunEnv(t)
	rc := container.RunConfig{Cmd: []string{"dd", "if=/dev/zero", "of=/dev/null", "bs=100M", "count=1"}}
	rc.Limits.Memory = 32 << 20
	s, r := e.start(t, rc, &bytes.Buffer{})
	if code, err := r.Wait(); code != 137 || !errors.Is(err, container.ErrOOM) {
		t.Errorf("Wait = %d, %v; want 137, ErrOOM", code, err)
	}
	e.checkReleased(t, s.ID, "exited (137)")
}

// Stop sends SIGTERM and, after the timeout, SIGKILL; the code the waiting
// process sees is recorded even though Stop released the container first.
func TestRunStop(t *testing.T) {
	e := newRunEnv(t)
	for _, tc := range []struct {
		name    string
		cmd     []string
		timeout time.Duration
		code    int
	}{
		// PID 1 without a handler: SIGTERM is ignored, SIGKILL ends it.
		{"ignores-term", []string{"sleep", "1000"}, 200 * time.Millisecond, 137},
		{"traps-term", []string{"sh", "-c", `trap "exit 5" TERM; while :; do sleep 0.05; done`}, 10 * time.Second, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, r := e.start(t, container.RunConfig{Cmd: tc.cmd}, &bytes.Buffer{})
			if tc.code != 137 {
				nstest.WaitCaught(t, r.Pid(), syscall.SIGTERM)
			}
			began := time.Now()
			if _, err := e.cs.Stop(s.ID, tc.timeout); err != nil {
				t.Fatal(err)
			}
			took := time.Since(began)
			if tc.code == 137 && took < tc.timeout || tc.code != 137 && took > 2*time.Second {
				t.Errorf("Stop took %v with timeout %v", took, tc.timeout)
			}
			if code, err := r.Wait(); code != tc.code || err != nil {
				t.Errorf("Wait = %d, %v; want %d", code, err, tc.code)
			}
			e.checkReleased(t, s.ID, fmt.Sprintf("exited (%d)", tc.code))
		})
	}
}

// Start, Kill and Exec check whether the container runs.
func TestRunNotRunning(t *testing.T) {
	e := newRunEnv(t)
	s, r := e.start(t, container.RunConfig{Cmd: []string{"sleep", "1000"}}, &bytes.Buffer{})
	if _, err := e.cs.Start(s.ID, container.Stdio{}); err == nil {
		t.Error("a second Start of a running container worked")
	}
	if _, err := e.cs.Kill(s.ID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	r.Wait()
	if _, err := e.cs.Kill(s.ID, syscall.SIGTERM); !errors.Is(err, container.ErrNotRunning) {
		t.Errorf("Kill of an exited container: %v, want ErrNotRunning", err)
	}
	if _, err := e.cs.Exec(s.ID, container.ExecOptions{Args: []string{"true"}}); !errors.Is(err, container.ErrNotRunning) {
		t.Errorf("Exec in an exited container: %v, want ErrNotRunning", err)
	}
}

// Exec runs in the container's namespaces and cgroup, with the run's
// environment under its own.
func TestRunExec(t *testing.T) {
	e := newRunEnv(t)
	s, r := e.start(t, container.RunConfig{Cmd: []string{"sleep", "1000"}, Env: []string{"A=run", "B=run"}}, &bytes.Buffer{})
	defer func() { e.cs.Kill(s.ID, syscall.SIGKILL); r.Wait() }()

	var out bytes.Buffer
	p, err := e.cs.Exec(s.ID, container.ExecOptions{
		Args:  []string{"sh", "-c", "echo $A $B $(hostname) $(cat /proc/1/comm) $(pwd); exit 3"},
		Env:   []string{"B=exec"},
		Stdio: container.Stdio{Stdout: &out, Stderr: &out},
		// WorkingDir is resolved in the container's rootfs.
		WorkingDir: "/tmp",
	})
	if err != nil {
		t.Fatal(err)
	}
	if code, err := p.Wait(); code != 3 || err != nil || out.String() != "run exec box sleep /tmp\n" {
		t.Errorf("exec = %d, %v, %q; want 3, nil, %q", code, err, out.String(), "run exec box sleep /tmp\n")
	}

	p, err = e.cs.Exec(s.ID, container.ExecOptions{Args: []string{"sleep", "1000"}})
	if err != nil {
		t.Fatal(err)
	}
	cg, err := cgroup.Open(s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if procs, _ := cg.Procs(); !slices.Contains(procs, p.Pid()) {
		t.Errorf("exec'd pid %d is not in the container's cgroup %v", p.Pid(), procs)
	}
	p.Signal(syscall.SIGKILL)
	if code, _ := p.Wait(); code != 137 {
		t.Errorf("killed exec = %d, want 137", code)
	}
}

// Refresh settles a container whose process ended unwatched (its monitor
// died): the state says exited, without a code, and nothing stays held.
func TestRunRefresh(t *testing.T) {
	e := newRunEnv(t)
	s := e.create(t, container.RunConfig{Cmd: []string{"sleep", "1000"}})
	r, err := e.cs.Start(s.ID, container.Stdio{})
	if err != nil {
		t.Fatal(err)
	}
	// Kill and reap the process here, bypassing Wait and its bookkeeping.
	if err := syscall.Kill(r.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(r.Pid(), &ws, 0, nil); err != nil {
		t.Fatal(err)
	}
	stale := e.get(t, s.ID)
	if stale.Pid != r.Pid() {
		t.Fatalf("record pid %d, want %d", stale.Pid, r.Pid())
	}
	got, err := e.cs.Refresh(stale)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status() != "exited" {
		t.Errorf("status after Refresh %q, want exited", got.Status())
	}
	e.checkReleased(t, s.ID, "exited")
}

// A container started on an init step spawned before it was created runs
// as one Start would start; a spawned step that does not fit the
// container (another network) is ended and a fitting one started.
func TestRunSpawned(t *testing.T) {
	e := newRunEnv(t)
	for _, tc := range []struct {
		name     string
		spawnNet string
	}{
		{"fits", ""},
		{"other network", ns.NetHost},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			stdio := container.Stdio{Stdout: &out, Stderr: &out}
			rc := container.RunConfig{Cmd: []string{"sh", "-c", "echo $$ $(hostname); ip link | grep -c mtu"}, Remove: true}
			sp := container.Spawn(&container.RunConfig{Net: tc.spawnNet}, stdio)
			s := e.create(t, rc)
			r, err := e.cs.StartSpawned(s.ID, sp)
			if err != nil {
				t.Fatal(err)
			}
			if code, err := r.Wait(); code != 0 || err != nil || out.String() != "1 box\n1\n" {
				t.Errorf("Wait = %d, %v, output %q; want 0 and PID 1 in box, lo alone", code, err, out.String())
			}
			e.checkGone(t, s.ID)
		})
	}
}
