package ns

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// probeEnv makes the test binary, copied into a container as /bin/probe,
// try the system calls named by its arguments and print "NAME ok" or
// "NAME ERRNO" for each: busybox has no applet for most of them.
const probeEnv = "_LAYERCTL_SECCOMP_PROBE"

func init() {
	if os.Getenv(probeEnv) == "" {
		return
	}
	for _, name := range os.Args[1:] {
		fmt.Printf("%s %s\n", name, runProbe(name))
	}
	os.Exit(0)
}

var probes = map[string]func() error{
	// The host's keyrings: a container's root must not read or add keys.
	"keyctl": func() error {
		_, err := unix.KeyctlInt(unix.KEYCTL_GET_KEYRING_ID, unix.KEY_SPEC_USER_KEYRING, 0, 0, 0)
		return err
	},
	"add_key": func() error {
		_, err := unix.AddKey("user", "layerctl-probe", []byte("x"), unix.KEY_SPEC_PROCESS_KEYRING)
		return err
	},
	// personality: only the values Docker allows (0xffffffff queries;
	// 0x0040000 is ADDR_NO_RANDOMIZE).
	"personality-query":   func() error { return personality(0xffffffff) },
	"personality-no-aslr": func() error { return personality(0x0040000) },
	"socket-inet":         func() error { return socket(unix.AF_INET) },
	"socket-vsock":        func() error { return socket(unix.AF_VSOCK) },
	"clone3":              func() error { return errnoOf(unix.Syscall(unix.SYS_CLONE3, 0, 0, 0)) },
	"clone-newuser":       func() error { return clone(unix.CLONE_NEWUSER) },
	"clone-plain":         func() error { return clone(0) },
}

func runProbe(name string) string {
	f := probes[name]
	if f == nil {
		return "unknown-probe"
	}
	if err := f(); err != nil {
		if e, ok := err.(unix.Errno); ok {
			return unix.ErrnoName(e)
		}
		return err.Error()
	}
	return "ok"
}

func errnoOf(_, _ uintptr, e unix.Errno) error {
	if e != 0 {
		return e
	}
	return nil
}

func personality(p uintptr) error { return errnoOf(unix.Syscall(unix.SYS_PERSONALITY, p, 0, 0)) }

func socket(domain int) error {
	fd, err := unix.Socket(domain, unix.SOCK_STREAM, 0)
	if err == nil {
		unix.Close(fd)
	}
	return err
}

// clone forks a child with flags that exits at once, and reaps it.
func clone(flags uintptr) error {
	r, _, e := unix.RawSyscall6(unix.SYS_CLONE, flags|uintptr(unix.SIGCHLD), 0, 0, 0, 0, 0)
	if e != 0 {
		return e
	}
	if r == 0 {
		unix.RawSyscall(unix.SYS_EXIT_GROUP, 0, 0, 0)
	}
	var ws unix.WaitStatus
	unix.Wait4(int(r), &ws, 0, nil)
	return nil
}

// probeRootfs is a busybox rootfs with this test binary as /bin/probe.
func probeRootfs(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	must(t, err)
	if exec.Command("ldd", exe).Run() == nil {
		t.Skip("the test binary is dynamically linked and cannot run in a busybox rootfs")
	}
	r := newRootfs(t)
	data, err := os.ReadFile(exe)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(r, "bin/probe"), data, 0o755))
	return r
}

// probeArgs runs the probes named by names.
func probeArgs(names ...string) ([]string, []string) {
	return append([]string{"probe"}, names...), []string{probeEnv + "=1"}
}

// What Docker's default profile refuses, and what it lets through, for a
// container without CAP_SYS_ADMIN.
var defaultProfileProbes = map[string]string{
	"keyctl":              "EPERM",
	"add_key":             "EPERM",
	"personality-query":   "ok",
	"personality-no-aslr": "EPERM",
	"socket-inet":         "ok",
	"socket-vsock":        "EPERM",
	"clone3":              "ENOSYS",
	"clone-newuser":       "EPERM",
	"clone-plain":         "ok",
}

func checkProbes(t *testing.T, out string, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok {
			got[k] = v
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q (output %q)", k, got[k], v, out)
		}
	}
}

func probeNames() []string {
	var names []string
	for k := range defaultProfileProbes {
		names = append(names, k)
	}
	return sortStrings(names)
}

// A container's process, run or exec'd, runs under Docker's default
// profile: mode 2 in /proc/self/status, the host's keyrings and new user
// namespaces out of reach.
func TestSeccompDefaultProfile(t *testing.T) {
	requireNS(t)
	rootfs := probeRootfs(t)
	args, env := probeArgs(probeNames()...)
	const line = "grep '^Seccomp:' /proc/self/status; unshare -U true 2>/dev/null && echo unshare-ok || echo unshare-refused"
	const want = "Seccomp:\t2\nunshare-refused"
	t.Run("run", func(t *testing.T) {
		if got := sh(t, Spec{Rootfs: rootfs}, line); got != want {
			t.Errorf("got %q, want Seccomp 2 and unshare -U refused", got)
		}
		code, out, errOut := run(t, Spec{Rootfs: rootfs, Env: env}, args...)
		if code != 0 {
			t.Fatalf("probe: exit %d, %s", code, errOut)
		}
		checkProbes(t, out, defaultProfileProbes)
	})
	t.Run("exec", func(t *testing.T) {
		c := startSleeper(t, Spec{Rootfs: rootfs})
		if code, out := execOut(t, c.Pid(), ExecSpec{Args: []string{"sh", "-c", line}}); code != 0 || out != want+"\n" {
			t.Errorf("exit %d, %q; want Seccomp 2 and unshare -U refused", code, out)
		}
		// A privileged exec keeps the container's filter, as docker exec.
		code, out := execOut(t, c.Pid(), ExecSpec{Args: args, Env: env, Privileged: true})
		if code != 0 {
			t.Fatalf("probe: exit %d, %s", code, out)
		}
		checkProbes(t, out, defaultProfileProbes)
	})
}

// The filter goes on while the init step still may install it: before the
// capabilities go without no_new_privs, last with it; for root and for
// another user.
func TestSeccompInstallOrder(t *testing.T) {
	requireNS(t)
	rootfs := newRootfs(t)
	for _, tc := range []struct {
		name string
		spec Spec
		want string
	}{
		{"root", Spec{}, "0 0 2"},
		{"user", Spec{User: "user"}, "1000 0 2"},
		{"root no-new-privileges", Spec{NoNewPrivileges: true}, "0 1 2"},
		{"user no-new-privileges", Spec{User: "user", NoNewPrivileges: true}, "1000 1 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.spec.Rootfs = rootfs
			line := `echo $(id -u) $(sed -n 's/^NoNewPrivs:\t//p; s/^Seccomp:\t//p' /proc/self/status)`
			if got := sh(t, tc.spec, line); got != tc.want {
				t.Fatalf("uid, no_new_privs, seccomp = %q, want %q", got, tc.want)
			}
			c := startSleeper(t, tc.spec)
			code, out := execOut(t, c.Pid(), ExecSpec{User: tc.spec.User, NoNewPrivileges: tc.spec.NoNewPrivileges, Args: []string{"sh", "-c", line}})
			if code != 0 || strings.TrimSpace(out) != tc.want {
				t.Fatalf("exec: exit %d, %q, want %q", code, out, tc.want)
			}
		})
	}
}

// Everyday work goes on under the default profile.
func TestSeccompBusyboxWorkload(t *testing.T) {
	requireNS(t)
	rootfs := newRootfs(t)
	must(t, os.MkdirAll(filepath.Join(rootfs, "www"), 0o755))
	must(t, os.WriteFile(filepath.Join(rootfs, "www/index.html"), []byte("served\n"), 0o644))
	// The host's loopback: a port or two may be taken.
	port := 20000 + os.Getpid()%20000
	line := fmt.Sprintf(`set -e
ls / >/dev/null; ps >/dev/null; date >/dev/null
mkdir -p /tmp/a/b; touch /tmp/a/b/f; chown -R 1000:1000 /tmp/a; rm -r /tmp/a
for p in %d %d %d %d; do httpd -p 127.0.0.1:$p -h /www 2>/dev/null && break; done
wget -q -O- http://127.0.0.1:$p/index.html
grep '^Seccomp:' /proc/self/status`, port, port+1, port+2, port+3)
	if got := sh(t, Spec{Rootfs: rootfs, Net: NetHost}, line); got != "served\nSeccomp:\t2" {
		t.Fatalf("got %q", got)
	}
}

// No filter when asked for none, or for a privileged container.
func TestSeccompUnconfined(t *testing.T) {
	requireNS(t)
	rootfs := newRootfs(t)
	const line = "grep '^Seccomp:' /proc/self/status"
	for _, tc := range []struct {
		name string
		spec Spec
		exec ExecSpec
	}{
		{"unconfined", Spec{Seccomp: Seccomp{Unconfined: true}}, ExecSpec{Seccomp: Seccomp{Unconfined: true}}},
		{"privileged", Spec{Privileged: true}, ExecSpec{Privileged: true, Seccomp: Seccomp{Unconfined: true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.spec.Rootfs = rootfs
			if got := sh(t, tc.spec, line); got != "Seccomp:\t0" {
				t.Fatalf("run: %q, want Seccomp 0", got)
			}
			c := startSleeper(t, tc.spec)
			tc.exec.Args = []string{"sh", "-c", line}
			if code, out := execOut(t, c.Pid(), tc.exec); code != 0 || out != "Seccomp:\t0\n" {
				t.Fatalf("exec: exit %d, %q, want Seccomp 0", code, out)
			}
		})
	}
}

// A profile of one's own, in Docker's format: mkdir fails with the errno
// it names, everything else is allowed.
func TestSeccompProfile(t *testing.T) {
	requireNS(t)
	sc, err := LoadSeccompProfile([]byte(`{
		"defaultAction": "SCMP_ACT_ALLOW",
		"syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 28}]
	}`))
	must(t, err)
	rootfs := newRootfs(t)
	const line = "touch /tmp/f && echo touched; mkdir /tmp/d 2>&1; grep '^Seccomp:' /proc/self/status"
	const want = "touched\nmkdir: can't create directory '/tmp/d': No space left on device\nSeccomp:\t2"
	if got := sh(t, Spec{Rootfs: rootfs, Seccomp: sc}, line); got != want {
		t.Fatalf("run: %q, want %q", got, want)
	}
	c := startSleeper(t, Spec{Rootfs: rootfs, Seccomp: sc})
	if _, out := execOut(t, c.Pid(), ExecSpec{Seccomp: sc, Args: []string{"sh", "-c", line}}); strings.TrimSpace(out) != want {
		t.Fatalf("exec: %q, want %q", out, want)
	}
}
