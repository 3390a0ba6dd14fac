package main

// End-to-end tests of run, exec, stop, kill and rm: real containers of the
// busybox image, started by the layerctl binary. Each test's cleanup
// (newBox) removes its containers and checks that no mount, cgroup or
// process of them is left.

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/cgroup"
	"github.com/layerctl/layerctl/pkg/ns/nstest"
)

// A container sees its own PID 1, host name, rootfs, processes, network
// and fds, and layerctl exits with its process's code. The containers are
// named and kept (no --rm) so that the cleanup finds and checks each one.
func TestCLIRunIsolation(t *testing.T) {
	b := newBox(t)
	// The host's network namespace: its interfaces may come and go while
	// the test runs.
	hostNet, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	envFile := filepath.Join(t.TempDir(), "env")
	if err := os.WriteFile(envFile, []byte("# comment\nA=1\n  B=\"two words\"\n\nC=3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		flags []string
		cmd   []string
		code  int
		check func(t *testing.T, out string) // nil: out must be want
		want  string
	}{
		{name: "pid1", cmd: []string{"sh", "-c", "echo $$"}, want: "1\n"},
		{name: "hostname", flags: []string{"--hostname", "h1"}, cmd: []string{"hostname"}, want: "h1\n"},
		{name: "hostname-default", cmd: []string{"hostname"}, check: func(t *testing.T, out string) {
			r, ok := b.find(t, "hostname-default")
			if !ok {
				t.Fatal("the container is not listed")
			}
			if want := r.ID[:12] + "\n"; out != want {
				t.Errorf("hostname %q, want the ID's first 12 characters %q", out, want)
			}
		}},
		// Exactly the image's top-level entries: nothing of the host's.
		{name: "rootfs", cmd: []string{"ls", "/"}, check: func(t *testing.T, out string) {
			want := "bin dev etc linuxrc proc root sbin sys tmp usr var"
			if got := strings.Join(strings.Fields(out), " "); got != want {
				t.Errorf("ls / = %q, want the image's %q", got, want)
			}
		}},
		// PID 1 and at most ls itself (busybox may run it without a fork).
		{name: "proc", cmd: []string{"sh", "-c", "ls /proc"}, check: func(t *testing.T, out string) {
			var pids []string
			for _, f := range strings.Fields(out) {
				if _, err := strconv.Atoi(f); err == nil {
					pids = append(pids, f)
				}
			}
			if !slices.Contains(pids, "1") || len(pids) > 2 {
				t.Errorf("/proc shows processes %v, want 1 and at most ls", pids)
			}
		}},
		// Only stdin, stdout, stderr and the directory ls reads: no fd of
		// layerctl's leaks in.
		{name: "fds", cmd: []string{"ls", "/proc/self/fd"}, check: func(t *testing.T, out string) {
			fds := strings.Fields(out)
			if len(fds) < 3 || len(fds) > 4 || strings.Join(fds[:3], " ") != "0 1 2" {
				t.Errorf("/proc/self/fd has %v, want 0 1 2 and the fd of ls", fds)
			}
		}},
		{name: "exit-code", cmd: []string{"sh", "-c", "exit 7"}, code: 7},
		{name: "net-none", cmd: []string{"ls", "/sys/class/net"}, want: "lo\n"},
		{name: "net-host", flags: []string{"--net", "host"}, cmd: []string{"readlink", "/proc/self/ns/net"}, want: hostNet + "\n"},
		{name: "network-host", flags: []string{"--network=host"}, cmd: []string{"readlink", "/proc/self/ns/net"}, want: hostNet + "\n"},
		// Docker's format: quotes kept, comments and blank lines skipped, --env wins.
		{name: "env-file", flags: []string{"--env-file", envFile, "-e", "C=over"}, cmd: []string{"sh", "-c", `echo "$A|$B|$C"`}, want: "1|\"two words\"|over\n"},
		{name: "env", flags: []string{"-e", "FOO=bar baz", "-e", "PATH=/bin"}, cmd: []string{"sh", "-c", `echo "$FOO:$PATH"`}, want: "bar baz:/bin\n"},
		{name: "workdir", flags: []string{"-w", "/tmp"}, cmd: []string{"pwd"}, want: "/tmp\n"},
		// The image's and the flags' environment and Docker's defaults, and
		// nothing of the init step's own (its mode, its GOMAXPROCS).
		{name: "env-whole", flags: []string{"-e", "A=1"}, cmd: []string{"env"}, check: func(t *testing.T, out string) {
			names := map[string]bool{}
			for _, kv := range strings.Fields(out) {
				k, _, _ := strings.Cut(kv, "=")
				names[k] = true
				if strings.HasPrefix(k, "GO") || strings.HasPrefix(k, "_LAYERCTL") {
					t.Errorf("the process's environment has %s", kv)
				}
			}
			for _, k := range []string{"A", "HOME", "HOSTNAME", "PATH"} {
				if !names[k] {
					t.Errorf("the process's environment lacks %s: %q", k, out)
				}
			}
		}},
		{name: "cap-drop-all", flags: []string{"--cap-drop", "ALL"}, cmd: []string{"grep", "CapEff", "/proc/self/status"}, want: "CapEff:\t0000000000000000\n"},
		{name: "cap-drop-all-user", flags: []string{"--cap-drop", "ALL", "-u", "nobody"}, cmd: []string{"id", "-u"}, want: "65534\n"},
		{name: "cap-drop-chown", flags: []string{"--cap-drop", "chown"}, cmd: []string{"sh", "-c", "chown 1 /tmp 2>/dev/null || echo refused"}, want: "refused\n"},
		{name: "cap-add", flags: []string{"--cap-add", "NET_ADMIN"}, cmd: []string{"sh", "-c", "ip link set lo mtu 1280 && echo changed"}, want: "changed\n"},
		{name: "read-only", flags: []string{"--read-only", "--tmpfs", "/tmp"}, cmd: []string{"sh", "-c", "touch /x 2>/dev/null || echo ro; touch /tmp/y && echo tmp-ok"}, want: "ro\ntmp-ok\n"},
		{name: "tmpfs-exec", flags: []string{"--tmpfs", "/run:exec,size=4m"}, cmd: []string{"sh", "-c", "cp /bin/busybox /run/busybox && /run/busybox echo ran"}, want: "ran\n"},
		{name: "tmpfs-noexec", flags: []string{"--tmpfs", "/run"}, cmd: []string{"sh", "-c", "cp /bin/busybox /run/busybox && /run/busybox echo ran 2>/dev/null || echo refused"}, want: "refused\n"},
		{name: "mount-flag", flags: []string{"--mount", "type=tmpfs,target=/mt,tmpfs-size=1m", "--mount", "type=bind,source=/etc,target=/hostetc,readonly"},
			cmd: []string{"sh", "-c", `grep " /mt " /proc/mounts | cut -d" " -f4; touch /hostetc/x 2>/dev/null || echo ro`}, want: "rw,nosuid,nodev,noexec,relatime,size=1024k\nro\n"},
		{name: "group-add", flags: []string{"--group-add", "nogroup", "--group-add", "4242"}, cmd: []string{"id", "-G"}, want: "0 4242 65534\n"},
		{name: "ulimit", flags: []string{"--ulimit", "nofile=1024:2048"}, cmd: []string{"sh", "-c", "ulimit -n; ulimit -Hn"}, want: "1024\n2048\n"},
		{name: "no-cap-add", cmd: []string{"sh", "-c", "ip link set lo mtu 1280 2>/dev/null || echo refused"}, want: "refused\n"},
		{name: "user", flags: []string{"-u", "nobody"}, cmd: []string{"id"}, want: "uid=65534(nobody) gid=65534(nogroup)\n"},
		{name: "entrypoint", flags: []string{"--entrypoint", "echo"}, cmd: []string{"one", "two"}, want: "one two\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{"run", "--name", tc.name}, tc.flags...), busyboxImage)
			out, errOut, code := b.run(t, append(args, tc.cmd...)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tc.code, errOut)
			}
			if tc.check != nil {
				tc.check(t, out)
			} else if out != tc.want {
				t.Errorf("stdout %q, want %q (stderr %q)", out, tc.want, errOut)
			}
			if r, _ := b.find(t, tc.name); r.Status != fmt.Sprintf("exited (%d)", tc.code) {
				t.Errorf("ps -a status %q, want exited (%d)", r.Status, tc.code)
			}
		})
	}
}

// CLI.md's exit codes when the process cannot run: 127 not found, 126 not
// executable, 125 any other start failure, 1 a layerctl error; each with
// one clear line.
func TestCLIRunStartFailures(t *testing.T) {
	b := newBox(t)
	tests := []struct {
		name  string
		args  []string
		code  int
		words []string
	}{
		{"not-found", []string{busyboxImage, "nosuchcmd"}, 127, []string{"nosuchcmd", "not found"}},
		{"not-executable", []string{busyboxImage, "/etc/passwd"}, 126, []string{"/etc/passwd", "permission denied"}},
		{"workdir-under-a-file", []string{"-w", "/etc/passwd/x", busyboxImage, "pwd"}, 125, []string{"/etc/passwd/x"}},
		{"relative-workdir", []string{"-w", "rel", busyboxImage, "pwd"}, 125, []string{"rel"}},
		{"no-user", []string{"-u", "nosuchuser", busyboxImage, "id"}, 125, []string{"nosuchuser"}},
		{"no-image", []string{"nosuchimage", "true"}, 125, []string{"nosuchimage"}},
		{"bad-net", []string{"--net", "bridge", busyboxImage, "true"}, 125, []string{"bridge"}},
		{"tmpfs-on-file", []string{"--tmpfs", "/etc/passwd", busyboxImage, "true"}, 125, []string{"/etc/passwd", "not a directory"}},
		{"tmpfs-option", []string{"--tmpfs", "/x:huge=always", busyboxImage, "true"}, 125, []string{"--tmpfs", "huge"}},
		{"bad-group", []string{"--group-add", "nosuchgroup", busyboxImage, "true"}, 125, []string{"--group-add", "nosuchgroup"}},
		{"bad-ulimit", []string{"--ulimit", "files=1", busyboxImage, "true"}, 125, []string{"--ulimit", "files=1"}},
		{"bad-cap", []string{"--cap-add", "FLY", busyboxImage, "true"}, 125, []string{"--cap-add", "FLY"}},
		{"publish", []string{"-p", "8080:80", busyboxImage, "true"}, 125, []string{"--publish 8080:80", "--network host"}},
		{"env-file-missing", []string{"--env-file", "/nonexistent/env", busyboxImage, "true"}, 125, []string{"--env-file", "/nonexistent/env"}},
		{"volume-name", []string{"-v", "a b:/data", busyboxImage, "true"}, 125, []string{"a b", "volume name"}},
		{"volume-on-root", []string{"-v", "/tmp:/", busyboxImage, "true"}, 125, []string{"cannot be /"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := b.run(t, append([]string{"run", "--rm"}, tc.args...)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.code, errOut)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
			checkOneLine(t, errOut, tc.words...)
			// --rm removes a container that never started, too.
			if rows := b.ps(t, true); len(rows) != 0 {
				t.Errorf("containers left: %+v", rows)
			}
		})
	}
}

// A foreground run whose PID 1 is killed from outside (kill, stop, rm -f
// from another layerctl) exits 128+9, and ps -a records it (or no longer
// lists it, after rm).
func TestCLIRunKilledFromOutside(t *testing.T) {
	b := newBox(t)
	tests := []struct {
		name   string
		by     []string
		status string
	}{
		{"kill", []string{"kill", "-s", "KILL"}, "exited (137)"},
		{"stop", []string{"stop", "-t", "0"}, "exited (137)"},
		{"rm-f", []string{"rm", "-f"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := command(b.root, "run", "--name", tc.name, busyboxImage, "sleep", "1000")
			var errOut bytes.Buffer
			cmd.Stderr = &errOut
			done := startCmd(t, cmd)
			b.waitStatus(t, tc.name, "running")
			if out := b.mustRun(t, append(tc.by, tc.name)...); len(strings.TrimSpace(out)) != 64 {
				t.Errorf("%s printed %q, want the ID", tc.by[0], out)
			}
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("run did not end after its container was killed")
			}
			if code := cmd.ProcessState.ExitCode(); code != 128+int(syscall.SIGKILL) {
				t.Errorf("exit %d, want 137 (stderr %q)", code, errOut.String())
			}
			b.waitStatus(t, tc.name, tc.status)
		})
	}
}

// -m, --cpus and --pids-limit become the cgroup's limits, and the kernel
// holds the process to them.
func TestCLIRunLimits(t *testing.T) {
	b := newBox(t)
	// dd's 100 MiB buffer is filled from /dev/zero: all of it is resident.
	dd := []string{"dd", "if=/dev/zero", "of=/dev/null", "bs=100M", "count=1"}

	t.Run("knobs", func(t *testing.T) {
		id := b.detach(t, "--cpus", "0.2", "--pids-limit", "10", "-m", "64m", busyboxImage, "sleep", "1000")
		for _, k := range []struct{ controller, v1, v2, want string }{
			{"cpu", "cpu.cfs_quota_us", "cpu.max", "20000"},
			{"cpu", "cpu.cfs_period_us", "cpu.max", "100000"},
			{"pids", "pids.max", "pids.max", "10"},
			{"memory", "memory.limit_in_bytes", "memory.max", strconv.Itoa(64 << 20)},
		} {
			got := cgroupFile(t, id, k.controller, k.v1, k.v2)
			if !slices.Contains(strings.Fields(got), k.want) {
				t.Errorf("%s = %q, want %s", k.v1, got, k.want)
			}
		}
	})
	t.Run("resident", func(t *testing.T) {
		// The same dd under a roomy limit: its cgroup's peak shows the
		// memory was really charged, so the OOM kill below is the limit's.
		id := b.detach(t, "-m", "256m", busyboxImage, "sh", "-c", strings.Join(dd, " ")+" 2>/dev/null; sleep 1000")
		cg, err := cgroup.Open(id)
		if err != nil {
			t.Fatal(err)
		}
		var peak int64
		for deadline := time.Now().Add(5 * time.Second); peak < 100<<20 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			st, err := cg.Stats()
			if err != nil {
				t.Fatal(err)
			}
			if peak = st.MemoryPeak; peak == 0 {
				t.Skip("the kernel reports no memory peak for this cgroup")
			}
		}
		if peak < 100<<20 {
			t.Errorf("memory peak %d, want at least 100 MiB", peak)
		}
	})
	t.Run("oom", func(t *testing.T) {
		out, errOut, code := b.run(t, append([]string{"run", "--name", "oom", "-m", "32m", busyboxImage}, dd...)...)
		if code != 137 {
			t.Errorf("exit %d, want 137 (stdout %q, stderr %q)", code, out, errOut)
		}
		checkOneLine(t, errOut, "out of memory")
		b.waitStatus(t, "oom", "exited (137)")
	})
	// A loop of 20 background sleeps: under --pids-limit 10 the shell's
	// fork fails; without a limit it completes.
	loop := "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do sleep 30 & done; echo forked"
	for _, tc := range []struct {
		name  string
		flags []string
		fails bool
	}{
		{"pids-limit", []string{"--pids-limit", "10"}, true},
		{"pids-unlimited", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{"run", "--name", tc.name}, tc.flags...), busyboxImage, "sh", "-c", loop)
			out, errOut, code := b.run(t, args...)
			if tc.fails {
				if code == 0 || strings.Contains(out, "forked") || !strings.Contains(errOut, "can't fork") {
					t.Errorf("exit %d, stdout %q, stderr %q: want the shell's fork to fail", code, out, errOut)
				}
			} else if code != 0 || out != "forked\n" {
				t.Errorf("exit %d, stdout %q, stderr %q: want forked", code, out, errOut)
			}
		})
	}
}

// -v mounts a host path read-write or read-only; nothing else of the host
// is reachable.
func TestCLIRunVolumes(t *testing.T) {
	b := newBox(t)
	host := t.TempDir()
	rw, ro := filepath.Join(host, "rw"), filepath.Join(host, "ro")
	for _, d := range []string{rw, ro} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for p, body := range map[string]string{filepath.Join(rw, "in"): "rw-in\n", filepath.Join(ro, "in"): "ro-in\n", filepath.Join(host, "secret"): "secret\n"} {
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	vols := []string{"-v", rw + ":/data", "-v", ro + ":/conf:ro"}
	tests := []struct {
		name, script, want string
	}{
		{"rw", "cat /data/in && echo written >/data/out && cat /data/out", "rw-in\nwritten\n"},
		{"ro", "cat /conf/in; echo no >/conf/in || echo refused; touch /conf/new || echo refused", "ro-in\nrefused\nrefused\n"},
		{"host", fmt.Sprintf("cat %s/secret || echo unreachable; ls /data/..", host), "unreachable\nbin\nconf\ndata\ndev\netc\nlinuxrc\nproc\nroot\nsbin\nsys\ntmp\nusr\nvar\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{"run", "--name", tc.name}, vols...), busyboxImage, "sh", "-c", tc.script)
			out, errOut, _ := b.run(t, args...)
			if out != tc.want {
				t.Errorf("stdout %q, want %q (stderr %q)", out, tc.want, errOut)
			}
		})
	}
	if got, _ := os.ReadFile(filepath.Join(rw, "out")); string(got) != "written\n" {
		t.Errorf("host sees %q in the rw volume, want %q", got, "written\n")
	}
	if got, _ := os.ReadFile(filepath.Join(ro, "in")); string(got) != "ro-in\n" {
		t.Errorf("the ro volume's file is now %q", got)
	}
	if _, err := os.Stat(filepath.Join(ro, "new")); err == nil {
		t.Error("a file was made in the ro volume")
	}
	// A host path relative to here, as docker's since 23.0; z (SELinux
	// relabelling) changes nothing where no labels are applied.
	cmd := command(b.root, "run", "--rm", "-v", "./rw:/rel:ro,z", busyboxImage, "sh", "-c", "cat /rel/in; touch /rel/x 2>/dev/null || echo refused")
	cmd.Dir = host
	if out, err := cmd.Output(); err != nil || string(out) != "rw-in\nrefused\n" {
		t.Errorf("-v ./rw:/rel:ro,z: %q, %v", out, err)
	}
}

// Root in a container lacks the capabilities to mount, set the clock or
// drive the kernel through /proc.
func TestCLIRunNoPrivilege(t *testing.T) {
	b := newBox(t)
	mount := "mkdir -p /mnt && mount -t tmpfs none /mnt && echo MOUNTED"
	tests := []struct {
		name, script string
		check        func(t *testing.T, out, errOut string)
	}{
		{"mount", mount, func(t *testing.T, out, errOut string) {
			if out != "" || !strings.Contains(errOut, "permission denied") {
				t.Errorf("mount: stdout %q, stderr %q: want it refused", out, errOut)
			}
		}},
		// The same mount with every capability works: the refusal above
		// is the dropped capability's.
		{"mount-privileged", mount, func(t *testing.T, out, errOut string) {
			if out != "MOUNTED\n" {
				t.Errorf("mount with --privileged: stdout %q, stderr %q", out, errOut)
			}
		}},
		{"date", "date -s '2001-01-01 00:00:00' >/dev/null; date +%Y", func(t *testing.T, out, errOut string) {
			if strings.TrimSpace(out) == "2001" || !strings.Contains(errOut, "not permitted") {
				t.Errorf("date -s: stdout %q, stderr %q: want it refused", out, errOut)
			}
		}},
		{"sysrq", "if [ -e /proc/sysrq-trigger ]; then echo h >/proc/sysrq-trigger && echo WROTE; else echo absent; fi", func(t *testing.T, out, errOut string) {
			if out == "absent\n" {
				t.Log("no /proc/sysrq-trigger in the container")
			} else if strings.Contains(out, "WROTE") {
				t.Errorf("wrote /proc/sysrq-trigger")
			}
		}},
		{"proc-sys", "echo 1 >/proc/sys/vm/drop_caches && echo WROTE", func(t *testing.T, out, errOut string) {
			if out != "" {
				t.Errorf("wrote /proc/sys: %q", out)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"run", "--name", tc.name}
			if strings.HasSuffix(tc.name, "-privileged") {
				args = append(args, "--privileged")
			}
			out, errOut, _ := b.run(t, append(args, busyboxImage, "sh", "-c", tc.script)...)
			tc.check(t, out, errOut)
		})
	}
	if time.Now().Year() == 2001 {
		t.Error("the host's clock was set")
	}
}

// exec joins a running container: its PID namespace, host name, rootfs
// and environment; its exit code is exec's.
func TestCLIExec(t *testing.T) {
	b := newBox(t)
	b.detach(t, "--name", "svc", "--hostname", "h-exec", "-e", "FROMRUN=1", busyboxImage, "sleep", "1000")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"pid1", []string{"cat", "/proc/1/cmdline"}, 0, "sleep\x001000\x00"},
		{"hostname", []string{"hostname"}, 0, "h-exec\n"},
		{"env-workdir", []string{"-e", "X=2", "-w", "/tmp", "svc", "sh", "-c", `echo $FROMRUN $X $(pwd)`}, 0, "1 2 /tmp\n"},
		{"exit-code", []string{"sh", "-c", "exit 4"}, 4, ""},
		{"not-found", []string{"nosuchcmd"}, 127, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if !slices.Contains(args, "svc") {
				args = append([]string{"svc"}, args...)
			}
			out, errOut, code := b.run(t, append([]string{"exec"}, args...)...)
			if code != tc.code || out != tc.want {
				t.Errorf("exit %d, stdout %q, want %d, %q (stderr %q)", code, out, tc.code, tc.want, errOut)
			}
			if tc.code == 127 {
				checkOneLine(t, errOut, "exec svc: ", "nosuchcmd")
			}
		})
	}
	t.Run("ps", func(t *testing.T) {
		out := b.mustRun(t, "exec", "svc", "ps", "-o", "pid,args")
		if !hasRow(out, "1", "sleep 1000") {
			t.Errorf("ps in the container:\n%s\nwant PID 1 sleep 1000", out)
		}
	})
	t.Run("caps", func(t *testing.T) { // the container's, as docker exec's
		b.detach(t, "--name", "nocaps", "--cap-drop", "ALL", "--cap-add", "KILL", busyboxImage, "sleep", "1000")
		if out := b.mustRun(t, "exec", "nocaps", "grep", "CapEff", "/proc/self/status"); out != "CapEff:\t0000000000000020\n" {
			t.Errorf("exec into --cap-drop ALL --cap-add KILL: %q, want only CAP_KILL", out)
		}
	})
	t.Run("stdin", func(t *testing.T) {
		cmd := command(b.root, "exec", "-i", "svc", "cat")
		cmd.Stdin = strings.NewReader("piped\n")
		if out, err := cmd.Output(); err != nil || string(out) != "piped\n" {
			t.Errorf("exec -i cat: %q, %v", out, err)
		}
	})
	t.Run("stopped", func(t *testing.T) {
		b.mustRun(t, "stop", "-t", "0", "svc")
		out, errOut, code := b.run(t, "exec", "svc", "true")
		if code != 1 || out != "" {
			t.Errorf("exec into a stopped container: exit %d, stdout %q", code, out)
		}
		checkOneLine(t, errOut, "svc", "not running")
	})
}

// run -d prints the ID; ps shows the container running with its host PID;
// stop ends it with SIGKILL after the timeout when SIGTERM is ignored (PID
// 1 sleep has no handler) and records 137.
func TestCLIStop(t *testing.T) {
	b := newBox(t)
	id := b.detach(t, "--name", "svc", busyboxImage, "sleep", "1000")
	r := b.waitStatus(t, "svc", "running")
	if r.ID != id || r.Pid <= 0 || cmdline(r.Pid) != "sleep 1000" {
		t.Fatalf("ps: %+v (cmdline %q), want %s running sleep 1000", r, cmdline(r.Pid), id)
	}
	if table := b.mustRun(t, "ps"); !hasRow(table, id[:12], "svc", busyboxImage+":latest", "running", strconv.Itoa(r.Pid)) {
		t.Errorf("ps table:\n%s\nwant a row for svc with PID %d", table, r.Pid)
	}
	start, _ := startTime(r.Pid)
	began := time.Now()
	if out := b.mustRun(t, "stop", "-t", "1", "svc"); strings.TrimSpace(out) != id {
		t.Errorf("stop printed %q, want %s", out, id)
	}
	if took := time.Since(began); took < time.Second || took > 5*time.Second {
		t.Errorf("stop -t 1 took %v, want the 1 s timeout and a prompt SIGKILL", took)
	}
	if !waitGone(r.Pid, start, 2*time.Second) {
		t.Errorf("pid %d still runs after stop", r.Pid)
	}
	b.waitStatus(t, "svc", "exited (137)")
	if d := cgroupDirs(id); len(d) != 0 {
		t.Errorf("cgroup left after stop: %v", d)
	}
	// Stopping a stopped container changes nothing.
	b.mustRun(t, "stop", "svc")
	b.waitStatus(t, "svc", "exited (137)")
}

// kill -s TERM reaches a PID 1 that traps it; its exit code is recorded.
func TestCLIKillTerm(t *testing.T) {
	b := newBox(t)
	id := b.detach(t, "--name", "trap", busyboxImage, "sh", "-c", `trap "exit 5" TERM; while :; do sleep 0.1; done`)
	// PID 1 ignores a signal it has no handler for: wait for the trap.
	nstest.WaitCaught(t, b.waitStatus(t, "trap", "running").Pid, syscall.SIGTERM)
	if out := b.mustRun(t, "kill", "-s", "TERM", "trap"); strings.TrimSpace(out) != id {
		t.Errorf("kill printed %q, want %s", out, id)
	}
	b.waitStatus(t, "trap", "exited (5)")
	_, errOut, code := b.run(t, "kill", "trap")
	if code != 1 {
		t.Errorf("kill of an exited container: exit %d, want 1", code)
	}
	checkOneLine(t, errOut, "not running")
}

// rm refuses a running container; rm -f kills and removes it.
func TestCLIRm(t *testing.T) {
	b := newBox(t)
	id := b.detach(t, "--name", "svc", busyboxImage, "sleep", "1000")
	r := b.waitStatus(t, "svc", "running")
	start, _ := startTime(r.Pid)
	out, errOut, code := b.run(t, "rm", "svc")
	if code != 1 || out != "" {
		t.Errorf("rm of a running container: exit %d, stdout %q", code, out)
	}
	checkOneLine(t, errOut, "svc", "running")
	b.waitStatus(t, "svc", "running")
	if out := b.mustRun(t, "rm", "-f", "svc"); strings.TrimSpace(out) != id {
		t.Errorf("rm -f printed %q, want %s", out, id)
	}
	if _, ok := b.find(t, "svc"); ok {
		t.Error("svc still listed after rm -f")
	}
	if !waitGone(r.Pid, start, 2*time.Second) {
		t.Errorf("pid %d still runs after rm -f", r.Pid)
	}
	if d := cgroupDirs(id); len(d) != 0 {
		t.Errorf("cgroup left after rm -f: %v", d)
	}
}

// --rm removes the container once its process ends, in the foreground and
// with -d; a detached process that ends by itself is recorded as exited.
func TestCLIRunEnds(t *testing.T) {
	b := newBox(t)
	t.Run("rm-foreground", func(t *testing.T) {
		out := b.mustRun(t, "run", "--rm", busyboxImage, "hostname") // the ID's first 12 characters
		b.track(strings.TrimSpace(out))
		if rows := b.ps(t, true); len(rows) != 0 {
			t.Errorf("containers left after run --rm: %+v", rows)
		}
		if d := cgroupDirs(strings.TrimSpace(out)); len(d) != 0 {
			t.Errorf("cgroup left after run --rm: %v", d)
		}
	})
	t.Run("rm-detached", func(t *testing.T) {
		b.detach(t, "--rm", "--name", "brief", busyboxImage, "sleep", "0.2")
		b.waitStatus(t, "brief", "")
	})
	t.Run("exits-by-itself", func(t *testing.T) {
		b.detach(t, "--name", "t0", busyboxImage, "sh", "-c", "echo out; echo err >&2")
		b.waitStatus(t, "t0", "exited (0)")
		// A detached container's output is kept for logs.
		if out, errOut, code := b.run(t, "logs", "t0"); out != "out\n" || errOut != "err\n" || code != 0 {
			t.Errorf("logs t0: stdout %q stderr %q exit %d, want the process's stdout and stderr apart", out, errOut, code)
		}
		b.detach(t, "--name", "t3", busyboxImage, "sh", "-c", "exit 3")
		b.waitStatus(t, "t3", "exited (3)")
	})
}

// run -it gives the shell a terminal: what the test types runs, ^C
// interrupts the shell's child, not layerctl, and exit's code is
// layerctl's. Afterwards the terminal is out of raw mode.
func TestCLIRunTTY(t *testing.T) {
	b := newBox(t)
	sh := startTerm(t, command(b.root, "run", "-it", "--rm", busyboxImage, "/bin/sh"))
	sh.expect("# ")
	// layerctl's terminal is raw while the container has it: keys such as
	// ^C pass through as bytes.
	if lflag := sh.lflag(); lflag&(unix.ICANON|unix.ECHO) != 0 {
		t.Errorf("the terminal is not in raw mode during the session (lflag %#x)", lflag)
	}
	sh.typeIn("echo hello-$((6*7))\r")
	sh.expect("hello-42")
	sh.expect("# ")
	sh.typeIn("[ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo on-a-$((1+1))-tty\r")
	sh.expect("on-a-2-tty")
	sh.expect("# ")

	// ^C while a child runs: the container's line discipline turns it into
	// SIGINT for the child; layerctl and the shell stay.
	sh.typeIn("sleep 100\r")
	sleepPid := waitChild(t, b, "sleep 100")
	start, _ := startTime(sleepPid)
	sh.typeIn("\x03")
	if !waitGone(sleepPid, start, 5*time.Second) {
		t.Fatal("^C did not end sleep")
	}
	sh.typeIn("echo after-$((1+1))\r")
	sh.expect("after-2")

	sh.typeIn("exit 3\r")
	if code := sh.wait(); code != 3 {
		t.Errorf("exit %d, want 3", code)
	}
	if lflag := sh.lflag(); lflag&(unix.ICANON|unix.ECHO) != unix.ICANON|unix.ECHO {
		t.Errorf("the terminal is left in raw mode (lflag %#x)", lflag)
	}
}

// exec -it gives the exec'd shell a terminal of its own in the container.
func TestCLIExecTTY(t *testing.T) {
	b := newBox(t)
	b.detach(t, "--name", "svc", busyboxImage, "sleep", "1000")
	sh := startTerm(t, command(b.root, "exec", "-it", "svc", "/bin/sh"))
	sh.expect("# ")
	sh.typeIn("[ -t 0 ] && [ -t 1 ] && echo on-a-$((1+1))-tty; echo pid1=$(cat /proc/1/comm)\r")
	sh.expect("on-a-2-tty")
	sh.expect("pid1=sleep")
	sh.typeIn("exit 4\r")
	if code := sh.wait(); code != 4 {
		t.Errorf("exit %d, want 4", code)
	}
	b.waitStatus(t, "svc", "running")
}

// Capabilities the caller holds in its inheritable or ambient set reach no
// container process, root or not (CVE-2022-24769's inheritable set).
func TestCLIRunCallerCapsStayOut(t *testing.T) {
	b := newBox(t)
	for _, user := range []string{"root", "nobody"} {
		cmd := command(b.root, "run", "--rm", "-u", user, busyboxImage, "grep", "-E", "CapInh|CapAmb", "/proc/self/status")
		cmd.SysProcAttr = &syscall.SysProcAttr{AmbientCaps: []uintptr{unix.CAP_NET_ADMIN}}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("run -u %s with an ambient capability: %v", user, err)
		}
		if got := string(out); got != "CapInh:\t0000000000000000\nCapAmb:\t0000000000000000\n" {
			t.Errorf("run -u %s: %q, want empty inheritable and ambient sets", user, got)
		}
	}
}
