package ns

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/sys/mountinfo"

	"golang.org/x/sys/unix"
)

// TestMain makes the test binary its own init step, as main does.
func TestMain(m *testing.M) {
	Init()
	os.Exit(m.Run())
}

const busybox = "/bin/busybox"

var probe struct {
	once   sync.Once
	reason string
}

// requireNS skips a test that needs root, working namespaces and a static
// busybox, saying which is missing.
func requireNS(t testing.TB) {
	t.Helper()
	probe.once.Do(func() {
		if os.Geteuid() != 0 {
			probe.reason = "needs root"
			return
		}
		if err := exec.Command("ldd", busybox).Run(); err == nil {
			probe.reason = busybox + " is dynamically linked: install busybox-static"
			return
		} else if _, serr := os.Stat(busybox); serr != nil {
			probe.reason = busybox + " is missing: apt-get install -y busybox-static"
			return
		}
		cmd := exec.Command(busybox, "true")
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: cloneFlags(true)}
		if err := cmd.Run(); err != nil {
			probe.reason = "namespaces unavailable: " + err.Error()
		}
	})
	if probe.reason != "" {
		t.Skip(probe.reason)
	}
}

// newRootfs builds a busybox rootfs in a temp dir: /bin/busybox and its
// applets as symlinks, /etc/passwd and /etc/group, and a marker file.
func newRootfs(t testing.TB) string {
	t.Helper()
	r := t.TempDir()
	for _, d := range []string{"bin", "etc", "tmp", "root", "proc", "dev", "sys", "mnt", "home/user"} {
		must(t, os.MkdirAll(filepath.Join(r, d), 0o755))
	}
	must(t, os.Chmod(filepath.Join(r, "tmp"), 0o1777))
	bb, err := os.ReadFile(busybox)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(r, "bin/busybox"), bb, 0o755))
	out, err := exec.Command(busybox, "--list").Output()
	must(t, err)
	for _, applet := range strings.Fields(string(out)) {
		if applet != "busybox" {
			must(t, os.Symlink("busybox", filepath.Join(r, "bin", applet)))
		}
	}
	must(t, os.WriteFile(filepath.Join(r, "etc/passwd"), []byte(
		"root:x:0:0:root:/root:/bin/sh\n"+
			"user:x:1000:1000:user:/home/user:/bin/sh\n"+
			"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(r, "etc/group"), []byte(
		"root:x:0:\nwheel:x:10:root,user\ntty:x:5:\nusers:x:100:user\nuser:x:1000:\nnogroup:x:65534:\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(r, "rootfs-marker"), nil, 0o644))
	return r
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// start starts spec and registers a cleanup that kills the process if it
// still runs, then checks that nothing is left: no process, no mount of
// the rootfs or volumes.
func start(t testing.TB, spec Spec) *Process {
	t.Helper()
	p, err := Start(spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	cleanupProcess(t, p, spec.Rootfs)
	return p
}

func cleanupProcess(t testing.TB, p *Process, rootfs string) {
	pid := p.Pid()
	t.Cleanup(func() {
		p.Signal(syscall.SIGKILL)
		p.Wait()
		if Alive(pid) {
			t.Errorf("pid %d still alive after the test", pid)
		}
		if rootfs != "" {
			checkNoMounts(t, rootfs)
		}
	})
}

// checkNoMounts fails t if the host has a mount at or under dir.
func checkNoMounts(t testing.TB, dir string) {
	t.Helper()
	left, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	must(t, err)
	for _, m := range left {
		t.Errorf("mount left on the host: %s (%s)", m.Mountpoint, m.FSType)
	}
}

// run runs args in a new container on rootfs (a fresh one when spec.Rootfs
// is empty) and returns its exit code, stdout and stderr.
func run(t testing.TB, spec Spec, args ...string) (int, string, string) {
	t.Helper()
	if spec.Rootfs == "" {
		spec.Rootfs = newRootfs(t)
	}
	if len(args) > 0 {
		spec.Args = args
	}
	var stdout, stderr bytes.Buffer
	spec.Stdout, spec.Stderr = &stdout, &stderr
	p := start(t, spec)
	code, err := p.Wait()
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	return code, stdout.String(), stderr.String()
}

// sh runs a shell command line and fails t unless it exits 0; it returns
// stdout, trimmed.
func sh(t testing.TB, spec Spec, line string) string {
	t.Helper()
	code, out, errOut := run(t, spec, "sh", "-c", line)
	if code != 0 {
		t.Fatalf("sh -c %q: exit %d, stdout %q, stderr %q", line, code, out, errOut)
	}
	return strings.TrimSpace(out)
}

// waitFor polls cond for up to 5 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func startErrorOf(t testing.TB, err error) *StartError {
	t.Helper()
	var se *StartError
	if !errors.As(err, &se) {
		t.Fatalf("want a *StartError, got %T %v", err, err)
	}
	return se
}

// openNoCloexec opens a file without O_CLOEXEC, as a careless library of
// the parent could: the container must not inherit it.
func openNoCloexec(t testing.TB, name string) int {
	fd, err := unix.Open(name, unix.O_RDONLY, 0)
	must(t, err)
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}
