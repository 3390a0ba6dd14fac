package main

// A hostile image against the launcher: the host binary out of its reach.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
// execs /proc/self/exe gets a copy that nothing in the container can change.
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
	if err != nil {
		t.Fatalf("the image's credential helper did not run (stderr %q): %v", errOut, err)
	}
	host := fmt.Sprintf("%d:%d", before.Dev, before.Ino)
	if got := strings.TrimSpace(string(exe)); got == host {
		t.Errorf("the container's /proc/1/exe is the host binary %s (%s)", binPath, got)
	}
	var after unix.Stat_t
	must(t, unix.Stat(binPath, &after))
	if after.Mode != before.Mode || after.Uid != before.Uid {
		t.Errorf("host binary mode %o uid %d, was %o uid %d: changed from inside the container",
			after.Mode, after.Uid, before.Mode, before.Uid)
	}
}
