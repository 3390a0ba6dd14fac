package ns

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/ns/prespawn"
)

func TestRunIsPID1(t *testing.T) {
	requireNS(t)
	if got := sh(t, Spec{}, "echo $$"); got != "1" {
		t.Fatalf("$$ = %q, want 1", got)
	}
}

func TestRunHostname(t *testing.T) {
	requireNS(t)
	if got := sh(t, Spec{Hostname: "box-42"}, "hostname; echo $HOSTNAME"); got != "box-42\nbox-42" {
		t.Fatalf("hostname = %q", got)
	}
}

func TestRunRootfs(t *testing.T) {
	requireNS(t)
	got := strings.Fields(sh(t, Spec{}, "ls /"))
	if !slices.Contains(got, "rootfs-marker") || slices.Contains(got, "work") || slices.Contains(got, "usr") {
		t.Fatalf("ls / = %v: want the rootfs", got)
	}
	// Nothing of the host is reachable: its files, its root through
	// /proc, its root through the old root.
	host, err := filepath.Abs("doc.go")
	must(t, err)
	code, _, _ := run(t, Spec{}, "sh", "-c", fmt.Sprintf("cat %s || cat /proc/1/root%s || ls /proc/1/root/work", host, host))
	if code == 0 {
		t.Fatal("a host file is reachable from the container")
	}
}

func TestRunProcShowsOnlyContainer(t *testing.T) {
	requireNS(t)
	out := sh(t, Spec{}, "ls /proc")
	var pids []string
	for _, name := range strings.Fields(out) {
		if regexp.MustCompile(`^[0-9]+$`).MatchString(name) {
			pids = append(pids, name)
		}
	}
	// sh execs ls, or forks it as pid 2.
	if len(pids) == 0 || len(pids) > 2 || pids[0] != "1" {
		t.Fatalf("pids in /proc = %v, want 1 (and ls)", pids)
	}
}

func TestRunExitCode(t *testing.T) {
	requireNS(t)
	if code, _, _ := run(t, Spec{}, "sh", "-c", "exit 7"); code != 7 {
		t.Fatalf("exit code %d, want 7", code)
	}
}

func TestRunKilledBySignal(t *testing.T) {
	requireNS(t)
	p := start(t, Spec{Rootfs: newRootfs(t), Args: []string{"sleep", "30"}})
	must(t, p.Signal(syscall.SIGKILL))
	if code, err := p.Wait(); err != nil || code != 128+9 {
		t.Fatalf("Wait = %d, %v; want 137", code, err)
	}
	// PID 1 gets the signals it handles.
	p = start(t, Spec{Rootfs: newRootfs(t), Args: []string{"sh", "-c", "trap 'exit 5' TERM; echo ready; while :; do sleep 0.05; done"}})
	time.Sleep(100 * time.Millisecond)
	must(t, p.Signal(syscall.SIGTERM))
	if code, err := p.Wait(); err != nil || code != 5 {
		t.Fatalf("Wait = %d, %v; want 5", code, err)
	}
}

func TestRunVolumes(t *testing.T) {
	requireNS(t)
	rw, ro := t.TempDir(), t.TempDir()
	must(t, os.WriteFile(filepath.Join(rw, "in"), []byte("from-host\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(ro, "in"), []byte("read-only\n"), 0o644))
	file := filepath.Join(t.TempDir(), "single")
	must(t, os.WriteFile(file, []byte("one-file\n"), 0o644))
	spec := Spec{Volumes: []Volume{
		{Source: rw, Target: "/data"},
		{Source: ro, Target: "/deep/ro/dir", ReadOnly: true},
		{Source: file, Target: "/etc/single"},
	}}
	got := sh(t, spec, "cat /data/in /deep/ro/dir/in /etc/single && echo written > /data/out && ! touch /deep/ro/dir/x 2>/dev/null && echo ok")
	if got != "from-host\nread-only\none-file\nok" {
		t.Fatalf("got %q", got)
	}
	if b, err := os.ReadFile(filepath.Join(rw, "out")); err != nil || string(b) != "written\n" {
		t.Fatalf("host sees %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(ro, "x")); err == nil {
		t.Fatal("a read-only volume was written")
	}
	code, _, errOut := run(t, spec, "sh", "-c", "echo x > /deep/ro/dir/in")
	if code == 0 || !strings.Contains(errOut, "Read-only file system") {
		t.Fatalf("write to :ro: exit %d, %q", code, errOut)
	}
}

// An image symlink must not carry a volume's target out of the rootfs.
func TestRunVolumeTargetStaysInRootfs(t *testing.T) {
	requireNS(t)
	rootfs, vol, outside := newRootfs(t), t.TempDir(), t.TempDir()
	must(t, os.Symlink(outside, filepath.Join(rootfs, "escape")))
	must(t, os.Symlink("../../../../../../"+outside, filepath.Join(rootfs, "escape2")))
	must(t, os.WriteFile(filepath.Join(vol, "f"), []byte("vol"), 0o644))
	spec := Spec{Rootfs: rootfs, Volumes: []Volume{
		{Source: vol, Target: "/escape/a"}, {Source: vol, Target: "/escape2/b"},
	}}
	if got := sh(t, spec, "cat /escape/a/f /escape2/b/f"); got != "volvol" {
		t.Fatalf("got %q", got)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Fatalf("the volume targets were made outside the rootfs: %v", entries)
	}
	if _, err := os.Stat(filepath.Join(rootfs, outside, "a")); err != nil {
		t.Fatalf("the target was not made inside the rootfs: %v", err)
	}
}

func TestRunFDs(t *testing.T) {
	requireNS(t)
	openNoCloexec(t, "/etc/hostname")
	got := strings.Fields(sh(t, Spec{}, "ls /proc/self/fd"))
	// 3 is ls's own fd of the directory it lists.
	if !slices.Equal(got, []string{"0", "1", "2", "3"}) {
		t.Fatalf("fds = %v, want 0 1 2 and ls's own", got)
	}
}

func TestRunMissingCommand(t *testing.T) {
	requireNS(t)
	rootfs := newRootfs(t)
	_, err := Start(Spec{Rootfs: rootfs, Args: []string{"foo"}})
	se := startErrorOf(t, err)
	if se.ExitCode() != 127 || se.Error() != `exec: "foo": executable file not found in $PATH` {
		t.Fatalf("got %d %q", se.ExitCode(), se.Error())
	}
	_, err = Start(Spec{Rootfs: rootfs, Args: []string{"/no/such"}})
	if se := startErrorOf(t, err); se.ExitCode() != 127 {
		t.Fatalf("got %d %q", se.ExitCode(), se.Error())
	}
	_, err = Start(Spec{Rootfs: rootfs, Args: []string{"/etc/passwd"}})
	if se := startErrorOf(t, err); se.ExitCode() != 126 {
		t.Fatalf("got %d %q", se.ExitCode(), se.Error())
	}
	checkNoMounts(t, rootfs)
}

func TestRunRootIsConfined(t *testing.T) {
	requireNS(t)
	for _, c := range []struct{ name, line, why string }{
		{"mount", "mount -t tmpfs none /mnt", "denied"},
		// The current time: harmless should the test ever fail.
		{"date -s", `date -s "$(date '+%Y-%m-%d %H:%M:%S')"`, "not permitted"},
		// Opens for writing, writes nothing.
		{"sysrq-trigger", ": > /proc/sysrq-trigger", "Read-only"},
		{"sysctl", "echo x > /proc/sys/kernel/hostname", "Read-only"},
		{"sys", "touch /sys/kernel/x", "Read-only"},
		// mknod is allowed (CAP_MKNOD), opening what it made is not.
		{"mknod in rootfs", "mknod /tmp/sda b 8 0 && head -c1 /tmp/sda", "denied"},
		{"mknod in /dev", "mknod /dev/sda b 8 0 && head -c1 /dev/sda", "denied"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "sysrq-trigger" {
				if _, err := os.Stat("/proc/sysrq-trigger"); err != nil {
					t.Skip("this kernel has no /proc/sysrq-trigger")
				}
			}
			// busybox date exits 0 when it could not set the date.
			code, out, errOut := run(t, Spec{}, "sh", "-c", c.line)
			if (code == 0 && c.name != "date -s") || !strings.Contains(errOut, c.why) {
				t.Fatalf("%q as root in the container: exit %d, %q %q; want a failure with %q", c.line, code, out, errOut, c.why)
			}
		})
	}
	if got := sh(t, Spec{}, "grep Cap /proc/self/status"); !strings.Contains(got, "CapBnd:\t00000000a80425fb") {
		t.Fatalf("capabilities:\n%s", got)
	}
	// Privileged keeps them all.
	sh(t, Spec{Privileged: true}, "mount -t tmpfs none /mnt && umount /mnt")
}

func TestRunMasks(t *testing.T) {
	requireNS(t)
	const line = "cat /proc/timer_list /proc/keys /proc/interrupts | wc -c; find /proc/acpi /sys/firmware -mindepth 1 | wc -l"
	if got := sh(t, Spec{}, line); got != "0\n0" {
		t.Fatalf("masked paths show: %q", got)
	}
	if got := sh(t, Spec{Privileged: true}, line); got == "0\n0" {
		t.Fatalf("privileged: masked paths are masked: %q", got)
	}
}

func TestRunUser(t *testing.T) {
	requireNS(t)
	for _, c := range []struct{ user, want string }{
		{"", "0 0 0 10"},
		{"nobody", "65534 65534 65534"},
		{"user", "1000 1000 10 100 1000"},
		{"1000:100", "1000 100 100"},
		{"4242", "4242 0 0"},
		{"user:wheel", "1000 10 10"},
	} {
		t.Run(c.user, func(t *testing.T) {
			got := sh(t, Spec{User: c.user}, `echo $(id -u) $(id -g) $(id -G | tr ' ' '\n' | sort -n | tr '\n' ' ')`)
			if got != strings.TrimSpace(c.want) {
				t.Fatalf("user %q: got %q, want %q", c.user, got, c.want)
			}
		})
	}
	// A non-root user has no capabilities at all.
	if got := sh(t, Spec{User: "user"}, "grep CapEff /proc/self/status"); !strings.HasSuffix(got, "0000000000000000") {
		t.Fatalf("user caps: %s", got)
	}
	_, err := Start(Spec{Rootfs: newRootfs(t), User: "nosuchuser", Args: []string{"true"}})
	if se := startErrorOf(t, err); !strings.Contains(se.Msg, "nosuchuser") {
		t.Fatalf("got %v", se)
	}
}

func TestRunWorkingDir(t *testing.T) {
	requireNS(t)
	if got := sh(t, Spec{WorkingDir: "/home/user"}, "pwd"); got != "/home/user" {
		t.Fatalf("pwd = %q", got)
	}
	// A missing one is made, as Docker does, owned by the user.
	if got := sh(t, Spec{WorkingDir: "/new/dir", User: "nobody"}, "pwd; stat -c %u /new/dir"); got != "/new/dir\n65534" {
		t.Fatalf("missing working dir: %q", got)
	}
	// Where it cannot be made (a file is in the way), the start fails.
	_, err := Start(Spec{Rootfs: newRootfs(t), WorkingDir: "/etc/passwd/x", Args: []string{"true"}})
	if se := startErrorOf(t, err); !strings.Contains(se.Msg, "/etc/passwd/x") {
		t.Fatalf("got %v", se)
	}
}

func TestRunEnv(t *testing.T) {
	requireNS(t)
	got := sh(t, Spec{Env: []string{"FOO=bar baz"}}, `echo "$FOO|$PATH|$HOME"`)
	if got != "bar baz|"+DefaultPath+"|/root" {
		t.Fatalf("env: %q", got)
	}
	// Args[0] is looked up in the container's PATH, the one in Env.
	rootfs := newRootfs(t)
	must(t, os.MkdirAll(filepath.Join(rootfs, "opt/x"), 0o755))
	must(t, os.WriteFile(filepath.Join(rootfs, "opt/x/hello"), []byte("#!/bin/sh\necho hi from opt\n"), 0o755))
	if got := sh(t, Spec{Rootfs: rootfs, Env: []string{"PATH=/opt/x:/bin"}}, "hello"); got != "hi from opt" {
		t.Fatalf("got %q", got)
	}
}

func TestRunNetwork(t *testing.T) {
	requireNS(t)
	got := sh(t, Spec{}, "ls /sys/class/net; ip -o link show lo")
	if !strings.HasPrefix(got, "lo\n") || !strings.Contains(got, "UP") {
		t.Fatalf("net none: %q", got)
	}
	// The same network namespace, not the same interfaces: the host's may
	// come and go between two looks.
	host, err := os.Readlink("/proc/self/ns/net")
	must(t, err)
	if got := sh(t, Spec{}, "readlink /proc/self/ns/net"); got == host {
		t.Fatalf("net none: in the host's network namespace %s", got)
	}
	if got := sh(t, Spec{Net: NetHost}, "readlink /proc/self/ns/net"); got != host {
		t.Fatalf("net host: network namespace %s, the host's is %s", got, host)
	}
}

func TestRunDev(t *testing.T) {
	requireNS(t)
	got := sh(t, Spec{}, "ls /dev | tr '\\n' ' '; echo; ls -ln /dev/null | cut -c1-10; readlink /dev/ptmx; "+
		"head -c4 /dev/urandom | wc -c; echo x > /dev/shm/x && cat /dev/shm/x; grep -c devpts /proc/self/mounts")
	want := "core fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero \ncrw-rw-rw-\npts/ptmx\n4\nx\n1"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

// With pivot_root refused (an initramfs) or not wanted, chroot.
func TestRunNoPivot(t *testing.T) {
	requireNS(t)
	code, out, errOut := run(t, Spec{NoPivot: true}, "sh", "-c", "echo $$; ls / | grep -c marker")
	if code != 0 || out != "1\n1\n" {
		t.Fatalf("exit %d, %q, %q", code, out, errOut)
	}
}

func TestRunBeforeStart(t *testing.T) {
	requireNS(t)
	var seen int
	spec := Spec{Rootfs: newRootfs(t), Args: []string{"true"}}
	spec.BeforeStart = func(pid int) error {
		seen = pid
		// The init step waits: it still runs the sealed copy of the binary
		// (its exe is set once exec'd, unlike its cmdline, which reads
		// empty while the kernel is busy with its memory).
		return sameFile(fmt.Sprintf("/proc/%d/exe", pid), self.fd)
	}
	p := start(t, spec)
	if seen != p.Pid() {
		t.Fatalf("BeforeStart got %d, pid %d", seen, p.Pid())
	}
	spec.BeforeStart = func(int) error { return fmt.Errorf("no cgroup") }
	if _, err := Start(spec); err == nil || !strings.Contains(err.Error(), "no cgroup") {
		t.Fatalf("Start = %v", err)
	}
}

// Prepare runs with the init step's pid before BeforeStart, and before the
// init step reads its rootfs: what it writes there, the container sees. Its
// error fails Start, and the init step goes.
func TestRunPrepare(t *testing.T) {
	requireNS(t)
	var order []string
	var prepared int
	spec := Spec{Rootfs: newRootfs(t)}
	spec.Prepare = func(pid int) error {
		order, prepared = append(order, "prepare"), pid
		return os.WriteFile(filepath.Join(spec.Rootfs, "prepared"), []byte("yes\n"), 0o644)
	}
	spec.BeforeStart = func(int) error { order = append(order, "before"); return nil }
	code, out, errOut := run(t, spec, "cat", "/prepared")
	if code != 0 || out != "yes\n" {
		t.Fatalf("cat /prepared: exit %d, %q, %q; want the file Prepare wrote", code, out, errOut)
	}
	if !slices.Equal(order, []string{"prepare", "before"}) || prepared == 0 {
		t.Errorf("hooks ran as %v with pid %d, want prepare then before", order, prepared)
	}

	spec.Args = []string{"true"}
	spec.Prepare = func(pid int) error { prepared = pid; return fmt.Errorf("no record") }
	if _, err := Start(spec); err == nil || !strings.Contains(err.Error(), "no record") {
		t.Fatalf("Start with a failing Prepare = %v", err)
	}
	if Alive(prepared) {
		t.Errorf("the init step %d outlived the failed Prepare", prepared)
	}
}

// The rootfs may be mounted after the init step is cloned (in Prepare): it
// gets the mount as it is when its config is sent, not its namespace's
// copy of the empty directory.
func TestRunRootfsMountedInPrepare(t *testing.T) {
	requireNS(t)
	content := newRootfs(t)
	spec := Spec{Rootfs: t.TempDir()}
	spec.Prepare = func(int) error {
		return unix.Mount(content, spec.Rootfs, "", unix.MS_BIND, "")
	}
	t.Cleanup(func() { unix.Unmount(spec.Rootfs, unix.MNT_DETACH) })
	code, out, errOut := run(t, spec, "ls", "/")
	must(t, unix.Unmount(spec.Rootfs, 0)) // before run's check for mounts left

	if code != 0 || !slices.Contains(strings.Fields(out), "rootfs-marker") {
		t.Fatalf("ls /: exit %d, %q, %q; want the rootfs mounted in Prepare", code, out, errOut)
	}
}

// An init step spawned before its spec runs the spec Start gives it later,
// as its pid; one aborted is gone; a spawned step starts once.
func TestSpawn(t *testing.T) {
	requireNS(t)
	var out bytes.Buffer
	sp, err := Spawn(Launch{Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatal(err)
	}
	spec := Spec{Rootfs: newRootfs(t), Hostname: "later", Args: []string{"sh", "-c", "echo $$ $(hostname)"}}
	p, err := sp.Start(spec)
	if err != nil {
		t.Fatalf("Start of the spawned init step: %v", err)
	}
	cleanupProcess(t, p, spec.Rootfs)
	if p.Pid() != sp.Pid() {
		t.Errorf("process pid %d, spawned %d", p.Pid(), sp.Pid())
	}
	if code, err := p.Wait(); code != 0 || err != nil || out.String() != "1 later\n" {
		t.Errorf("Wait = %d, %v, output %q; want 0 and \"1 later\"", code, err, out.String())
	}
	if _, err := sp.Start(spec); err == nil {
		t.Error("a second Start of one spawned init step succeeded")
	}

	gone, err := Spawn(Launch{})
	if err != nil {
		t.Fatal(err)
	}
	gone.Abort()
	if Alive(gone.Pid()) {
		t.Errorf("the aborted init step %d still runs", gone.Pid())
	}
}

// A run's init step killed while it sets up (its pid is the caller's from
// Prepare on: a kill or rm of the container reaches it) ends as a killed
// process, not as a failed start.
func TestRunKilledWhileSettingUp(t *testing.T) {
	requireNS(t)
	for _, hook := range []string{"prepare", "before"} {
		t.Run(hook, func(t *testing.T) {
			spec := Spec{Rootfs: newRootfs(t), Args: []string{"true"}}
			kill := func(pid int) error { return syscall.Kill(pid, syscall.SIGKILL) }
			if hook == "prepare" {
				spec.Prepare = kill
			} else {
				spec.BeforeStart = kill
			}
			p, err := Start(spec)
			if err != nil {
				t.Fatalf("Start = %v, want the process, killed", err)
			}
			if code, err := p.Wait(); code != 128+int(syscall.SIGKILL) || err != nil {
				t.Errorf("Wait = %d, %v; want 137", code, err)
			}
		})
	}
}

// The user's process starts with no signal ignored or blocked: what the
// init step did about early signals does not pass to it.
func TestRunSignalsStartDefault(t *testing.T) {
	requireNS(t)
	code, out, errOut := run(t, Spec{}, "cat", "/proc/1/status")
	if code != 0 {
		t.Fatalf("cat: exit %d, %s", code, errOut)
	}
	for _, field := range []string{"SigIgn:\t0000000000000000", "SigBlk:\t0000000000000000"} {
		if !strings.Contains(out, field) {
			t.Errorf("/proc/1/status lacks %q:\n%s", field, out)
		}
	}
}

// Warm makes the sealed view in the background, once: the Start after it
// runs its init step from that very file.
func TestWarm(t *testing.T) {
	requireNS(t)
	Warm()
	Warm()
	exe, err := selfPath()
	if err != nil {
		t.Fatal(err)
	}
	spec := Spec{Rootfs: newRootfs(t), Args: []string{"true"}}
	spec.BeforeStart = func(pid int) error { return sameFile(fmt.Sprintf("/proc/%d/exe", pid), self.fd) }
	if code, _, errOut := run(t, spec); code != 0 {
		t.Fatalf("run after Warm: exit %d, %s", code, errOut)
	}
	if again, _ := selfPath(); again != exe {
		t.Errorf("sealed view %s after the run, %s before: made twice", again, exe)
	}
}

// Each way of sealing the binary gives a file that runs it and that cannot
// be changed through its /proc path: not written (what CVE-2019-5736 did
// through /proc/PID/exe), not chmodded.
func TestSelfCopyIsSealed(t *testing.T) {
	requireNS(t)
	var host unix.Stat_t
	must(t, unix.Stat("/proc/self/exe", &host))
	for _, c := range []struct {
		name string
		seal func(string) (int, error)
	}{
		{"overlay", sealedOverlay},
		{"memfd", sealedCopy},
	} {
		t.Run(c.name, func(t *testing.T) {
			fd, err := c.seal("/proc/self/exe")
			if err != nil {
				t.Skipf("%s: %v", c.name, err)
			}
			defer unix.Close(fd)
			if c.name == "memfd" {
				got, err := unix.FcntlInt(uintptr(fd), unix.F_GET_SEALS, 0)
				must(t, err)
				if got&prespawn.Seals != prespawn.Seals {
					t.Fatalf("seals %#x, want %#x", got, prespawn.Seals)
				}
			}
			p := fmt.Sprintf("/proc/self/fd/%d", fd)
			if f, err := os.OpenFile(p, os.O_WRONLY, 0); err == nil {
				_, err = f.Write([]byte("x"))
				f.Close()
				if err == nil {
					t.Fatal("the sealed binary is writable")
				}
			}
			os.Chmod(p, 0o4777)
			var after unix.Stat_t
			must(t, unix.Stat("/proc/self/exe", &after))
			if after.Mode != host.Mode {
				os.Chmod("/proc/self/exe", os.FileMode(host.Mode&0o777))
				t.Fatalf("chmod through the sealed binary changed the host file: %o", after.Mode)
			}
		})
	}
	t.Logf("sealed view of the binary: %v", SelfCopyCost())
}

func TestRunForwardSignals(t *testing.T) {
	requireNS(t)
	var out screen
	p := start(t, Spec{Rootfs: newRootfs(t), Stdout: &out,
		Args: []string{"sh", "-c", "trap 'exit 9' USR1; echo ready; while :; do sleep 0.05; done"}})
	p.ForwardSignals()
	waitFor(t, "the trap", func() bool { return strings.Contains(out.String(), "ready") })
	// In a session of its own: the caller's terminal signals only the caller.
	if sid, err := unix.Getsid(p.Pid()); err != nil || sid != p.Pid() {
		t.Fatalf("session %d, %v; want %d", sid, err, p.Pid())
	}
	must(t, syscall.Kill(os.Getpid(), syscall.SIGUSR1))
	if code, err := p.Wait(); err != nil || code != 9 {
		t.Fatalf("Wait = %d, %v; want 9", code, err)
	}
}

// sameFile fails unless name is the file open at fd.
func sameFile(name string, fd int) error {
	var a, b unix.Stat_t
	if err := unix.Stat(name, &a); err != nil {
		return err
	}
	if err := unix.Fstat(fd, &b); err != nil {
		return err
	}
	if a.Dev != b.Dev || a.Ino != b.Ino {
		return fmt.Errorf("%s is %d:%d, not the sealed copy %d:%d", name, a.Dev, a.Ino, b.Dev, b.Ino)
	}
	return nil
}

// A signal that reaches the init step before the user's process runs does
// not end the container with the Go runtime's code 2: as the kernel does for
// a namespace's init without a handler, the signal is dropped, and the
// command runs.
func TestRunSignalBeforeExec(t *testing.T) {
	requireNS(t)
	spec := Spec{Rootfs: newRootfs(t), Args: []string{"sh", "-c", "exit 7"}}
	spec.BeforeStart = func(pid int) error {
		// Long enough for the init step to be past its Go runtime's start.
		time.Sleep(300 * time.Millisecond)
		return syscall.Kill(pid, syscall.SIGTERM)
	}
	p := start(t, spec)
	if code, err := p.Wait(); err != nil || code != 7 {
		t.Fatalf("Wait = %d, %v; want the command's 7", code, err)
	}
}

// --tmpfs: a new tmpfs at its target (Docker's noexec and nosuid unless
// asked, nodev always), made inside the rootfs whatever image symlinks
// point at; --read-only makes the root mount alone read-only.
func TestRunTmpfsAndReadOnly(t *testing.T) {
	requireNS(t)
	rootfs, outside := newRootfs(t), t.TempDir()
	must(t, os.Symlink(outside, filepath.Join(rootfs, "escape")))
	tmp, err := ParseTmpfs("/tmp")
	must(t, err)
	run, err := ParseTmpfs("/run:size=1m,mode=700,exec")
	must(t, err)
	esc, err := ParseTmpfs("/escape/t")
	must(t, err)
	spec := Spec{Rootfs: rootfs, ReadOnly: true, Tmpfs: []Tmpfs{tmp, run, esc}}
	got := sh(t, spec, `touch /x 2>/dev/null || echo root-ro
echo ok > /tmp/f && cat /tmp/f
grep -E " /(tmp|run) " /proc/mounts | cut -d" " -f2,4
stat -c %a /run
grep -c " $(readlink /escape)/t tmpfs" /proc/mounts`)
	// /escape/t is the image's link target, inside the rootfs: under /tmp.
	want := "root-ro\nok\n/tmp rw,nosuid,nodev,noexec,relatime\n/run rw,nosuid,nodev,relatime,size=1024k,mode=700\n" +
		"700\n1"
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("a tmpfs target was made outside the rootfs: %v", entries)
	}
	checkNoMounts(t, rootfs)
}

func TestParseTmpfs(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Tmpfs
		wantErr string
	}{
		{in: "/run", want: Tmpfs{Target: "/run"}},
		{in: "/run/:size=64m,mode=1777,ro,exec,suid,nodev", want: Tmpfs{Target: "/run", Options: []string{"size=64m", "mode=1777"}, ReadOnly: true, Exec: true, Suid: true}},
		{in: "/x:noexec,nosuid,rw", want: Tmpfs{Target: "/x"}},
		{in: "run", wantErr: "absolute"},
		{in: "/", wantErr: "absolute"},
		{in: "/x:dev", wantErr: `unknown option "dev"`},
		{in: "/x:size=", wantErr: `unknown option "size="`},
		{in: "/x:nr_inodes=1,huge=always", wantErr: "huge"},
	} {
		got, err := ParseTmpfs(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: error %v, want one with %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}
