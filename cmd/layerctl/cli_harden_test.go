package main

// A hostile image against the launcher: the host binary out of its reach,
// nothing left behind by a run killed while it starts, every start failure
// said in one line, and no exec outside the container's cgroup.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// hostileImage commits an image whose entrypoint is /proc/self/exe (the
// binary that started the container, were it reachable) and whose own
// DOCKER_CONFIG names a credential helper of the image. The helper, run by
// that binary during a pull, records in /out what PID 1's exe is and
// whether a chmod through /proc/1/exe worked (CVE-2019-5736).
func hostileImage(t *testing.T, b *box) string {
	t.Helper()
	b.mustRun(t, "create", "--name", "hostile-src", busyboxImage)
	b.track("hostile-src")
	merged := strings.TrimSpace(b.mustRun(t, "mount", "hostile-src"))
	for name, body := range map[string]string{
		"cfg/config.json": `{"credsStore": "probe"}`,
		"probe/docker-credential-probe": "#!/bin/sh\n" +
			"stat -L -c %d:%i /proc/1/exe > /out/exe\n" +
			"chmod 4777 /proc/1/exe 2>/out/chmod.err; echo $? > /out/chmod\n" +
			`echo '{"Username":"u","Secret":"s"}'` + "\n",
	} {
		p := filepath.Join(merged, name)
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(body), 0o755))
	}
	b.mustRun(t, "umount", "hostile-src")
	b.mustRun(t, "commit",
		"--change", `ENTRYPOINT ["/proc/self/exe"]`,
		"--change", "ENV DOCKER_CONFIG=/cfg",
		"--change", "ENV PATH=/probe:/bin",
		"hostile-src", "hostile:1")
	b.mustRun(t, "rm", "hostile-src")
	return "hostile:1"
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// The container's PID 1 is never the host's layerctl file: an image that
// execs /proc/self/exe gets a sealed copy of what ran the init step (the
// embedded layerctl-init, or layerctl itself) that nothing in the container
// can change.
func TestCLIRunSelfExeIsNotTheHostBinary(t *testing.T) {
	b := newBox(t)
	img := hostileImage(t, b)
	var before unix.Stat_t
	must(t, unix.Stat(binPath, &before))
	t.Cleanup(func() { os.Chmod(binPath, os.FileMode(before.Mode&0o777)) })

	out := t.TempDir()
	// PID 1 runs layerctl pull, which asks the image's credential helper;
	// the pull itself fails (there is no network in the container).
	_, errOut, _ := b.run(t, "run", "--rm", "-v", out+":/out", img, "--driver", "vfs", "pull", "127.0.0.1:9/x")
	exe, err := os.ReadFile(filepath.Join(out, "exe"))
	switch {
	case err == nil: // PID 1 was a layerctl: a build that re-executes itself for the init step
		host := fmt.Sprintf("%d:%d", before.Dev, before.Ino)
		if got := strings.TrimSpace(string(exe)); got == host {
			t.Errorf("the container's /proc/1/exe is the host binary %s (%s)", binPath, got)
		}
	case strings.Contains(errOut, "layerctl-init: the init step of a container"):
		// PID 1 was the embedded init program, from its sealed memfd:
		// it runs nothing of the image's.
	default:
		t.Fatalf("PID 1 ran neither a layerctl nor the init program (stderr %q): %v", errOut, err)
	}
	var after unix.Stat_t
	must(t, unix.Stat(binPath, &after))
	if after.Mode != before.Mode || after.Uid != before.Uid {
		t.Errorf("host binary mode %o uid %d, was %o uid %d: changed from inside the container",
			after.Mode, after.Uid, before.Mode, before.Uid)
	}
}

// A run killed (SIGKILL) at any point of its start leaves nothing that rm -f
// does not remove: no cgroup, no process.
func TestCLIRunKilledWhileStarting(t *testing.T) {
	b := newBox(t)
	// Growing delays walk the kill through the start: before the record,
	// between the cgroup and the record, after the process started.
	for i := range 24 {
		name := fmt.Sprintf("k%d", i)
		args := []string{"run", "--name", name, busyboxImage, "sleep", "1000"}
		if i%2 == 1 {
			args = append([]string{"run", "--rm"}, args[1:]...)
		}
		cmd := command(b.root, args...)
		must(t, cmd.Start())
		time.Sleep(time.Duration(i) * 5 * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		r, ok := b.find(t, name)
		if !ok {
			continue // killed before it made the container
		}
		b.mustRun(t, "rm", "-f", name)
		for _, d := range cgroupDirs(r.ID) {
			t.Errorf("killed after %v: rm -f left cgroup %s (tasks %v)", time.Duration(i)*5*time.Millisecond, d, cgroupTasks(d))
			removeCgroupDir(d)
		}
	}
}

// A failure in the init step's setup reaches the user as its own one-line
// reason, with exit code 125.
func TestCLIRunSetupFailureSaysWhy(t *testing.T) {
	b := newBox(t)
	src := t.TempDir()
	must(t, os.WriteFile(filepath.Join(src, "f"), nil, 0o644))
	tests := []struct {
		name  string
		args  []string
		words []string
	}{
		{"volume-on-proc-fd", []string{"-v", src + ":/proc/self/fd/0"}, []string{"/proc/self/fd/0"}},
		{"volume-under-a-file", []string{"-v", src + ":/etc/passwd/x"}, []string{"/etc/passwd/x"}},
		{"file-volume-on-a-dir", []string{"-v", filepath.Join(src, "f") + ":/etc"}, []string{"/etc"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{"run", "--rm"}, tc.args...), busyboxImage, "true")
			out, errOut, code := b.run(t, args...)
			if code != 125 || out != "" {
				t.Errorf("exit %d, stdout %q, want 125 and nothing", code, out)
			}
			checkOneLine(t, errOut, tc.words...)
			if strings.Contains(errOut, "read sync") || strings.Contains(errOut, "connection reset") {
				t.Errorf("stderr %q: the init step's reason got lost", errOut)
			}
		})
	}
}

// exec refuses to start a process it cannot put in the container's cgroup.
func TestCLIExecWithoutCgroup(t *testing.T) {
	b := newBox(t)
	id := b.detach(t, "--name", "nocg", busyboxImage, "sleep", "1000")
	pid := b.waitStatus(t, "nocg", "running").Pid
	// Take the container's process out of its cgroup, and remove that.
	for _, d := range cgroupDirs(id) {
		must(t, os.WriteFile(filepath.Join(filepath.Dir(filepath.Dir(d)), "cgroup.procs"), []byte(fmt.Sprint(pid)), 0))
		must(t, unix.Rmdir(d))
	}
	out, errOut, code := b.run(t, "exec", "nocg", "touch", "/tmp/ran")
	if code == 0 {
		t.Errorf("exec without the container's cgroup: exit 0, stdout %q, stderr %q", out, errOut)
	}
	checkOneLine(t, errOut, "cgroup")
	if _, err := os.Stat(filepath.Join(b.root, "containers", id, "merged", "tmp", "ran")); err == nil {
		t.Error("the command ran outside the container's cgroup")
	}
}

// The store keeps a copy of the init program, and init steps run it through
// a read-only overlay: made whole once (its sha256 names it), a damaged copy
// replaced, other builds' copies removed; from inside a container, where
// PID 1 is the program (--init), it can be neither written nor chmodded.
func TestCLIRunKeepsTheInitProgram(t *testing.T) {
	b := newBox(t)
	cache := filepath.Join(b.root, "bin")
	other := filepath.Join(cache, strings.Repeat("a", 64))
	must(t, os.MkdirAll(other, 0o700))
	must(t, os.WriteFile(filepath.Join(other, "layerctl-init"), []byte("another build's"), 0o555))

	b.mustRun(t, "run", "--rm", busyboxImage, "true")
	entries, err := os.ReadDir(cache)
	must(t, err)
	var digest string
	for _, e := range entries {
		if e.Name() != "empty" {
			digest = e.Name()
		}
	}
	if len(entries) != 2 || digest == "" {
		t.Fatalf("the cache holds %v, want this build's program and empty/", entries)
	}
	prog := filepath.Join(cache, digest, "layerctl-init")
	check := func(when string) {
		t.Helper()
		data, err := os.ReadFile(prog)
		must(t, err)
		fi, err := os.Stat(prog)
		must(t, err)
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != digest || fi.Mode().Perm() != 0o555 {
			t.Fatalf("%s: the program's copy has sha256 %x and mode %o, want %s and 555", when, sum, fi.Mode().Perm(), digest)
		}
	}
	check("saved")

	out := b.mustRun(t, "run", "--rm", "--init", busyboxImage, "sh", "-c",
		"readlink /proc/1/exe; echo x > /proc/1/exe; echo write=$?; chmod 4777 /proc/1/exe; echo chmod=$?; true > /proc/1/exe; echo truncate=$?")
	if want := "/layerctl-init\nwrite=1\nchmod=1\ntruncate=1\n"; out != want {
		t.Errorf("PID 1 through its overlay:\n%s\nwant\n%s", out, want)
	}
	check("after a container tried to change it")

	must(t, os.Truncate(prog, 10))
	b.mustRun(t, "run", "--rm", busyboxImage, "true")
	check("damaged, then run")
}
