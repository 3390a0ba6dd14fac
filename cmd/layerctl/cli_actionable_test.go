package main

import (
	"debug/buildinfo"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/layerctl/layerctl/pkg/image/registrytest"
)

// Errors a person can act on: each says what to do instead, in one line.
func TestCLIActionableErrors(t *testing.T) {
	t.Parallel()
	root := newRoot(t)
	pullID(t, root, "oci:"+writeLayout(t, newImage(t, baseLayer(t, 1)), "latest")+":latest", "app:1")
	archive := filepath.Join(t.TempDir(), "image.tar")
	if err := os.WriteFile(archive, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"oci-archive", []string{"pull", "oci-archive:/tmp/x.tar"}, []string{`"oci-archive:" is not supported`, "docker-archive:FILE", "oci:DIR"}},
		{"containers-storage", []string{"pull", "containers-storage:busybox"}, []string{"not supported", "docker-archive:FILE"}},
		{"docker-daemon", []string{"pull", "docker-daemon:busybox:latest"}, []string{"not supported", "docker-archive:FILE"}},
		{"bare file path", []string{"pull", archive}, []string{"is a file path", "docker-archive:FILE"}},
		{"push to a file path", []string{"push", "app:1", "./out.tar"}, []string{"is a file path", "oci:DIR"}},
		{"global flag after the command", []string{"images", "--root", "/tmp"}, []string{"--root is a global flag", "global flags go before the command"}},
		{"inspect of a short name", []string{"inspect", "busybox"}, []string{"busybox (looked for busybox:latest)", "not found"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := run(t, root, tc.args...)
			checkOneLineError(t, stderr, code)
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q lacks %q", stderr, w)
				}
			}
			if strings.Contains(stderr, "lookup ") || strings.Contains(stderr, "map[") {
				t.Errorf("stderr %q is a network or Go error, not an answer", stderr)
			}
		})
	}
}

// A registry's "manifest unknown" reads as words, not as a Go map.
func TestCLIRegistryErrorWords(t *testing.T) {
	t.Parallel()
	host := registrytest.Start(t)
	dir := registrytest.MakeImage(t, "busybox")
	registrytest.PushLayout(t, dir, "latest", host, "busybox:latest")
	_, stderr, code := run(t, newRoot(t), "pull", "--insecure", host+"/busybox:nosuchtag")
	checkOneLineError(t, stderr, code)
	if !strings.Contains(stderr, "manifest unknown: tag nosuchtag") || strings.Contains(stderr, "map[") {
		t.Errorf("stderr %q, want \"manifest unknown: tag nosuchtag\" without a Go map", stderr)
	}
}

// Without root, a command says it needs root and why, and an existing store
// is left as it is, not "create"d.
func TestCLINeedsRoot(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root to run layerctl as another user")
	}
	root := newRoot(t)
	mustRun(t, root, "images")
	before := snapshot(t, root)
	// The test binary's directory is root's alone: nobody runs a copy.
	binDir, err := os.MkdirTemp("", "layerctl-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(binDir) })
	bin := filepath.Join(binDir, "layerctl")
	if err := os.Chmod(binDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", binPath, bin).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
	cmd := exec.Command(bin, "--root", root, "images")
	cmd.Env = testEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("images as nobody: %v, want exit 1", err)
	}
	checkOneLineError(t, stderr.String(), 1)
	if !strings.Contains(stderr.String(), "needs root: ") || strings.Contains(stderr.String(), "create") {
		t.Errorf("stderr %q, want \"needs root\" and the reason, no \"create\"", stderr.String())
	}
	checkUnchanged(t, root, before)
}

// --version prints the version and commit the Makefile took from git, and
// the Go version it was built with.
func TestCLIVersion(t *testing.T) {
	t.Parallel()
	if err := exec.Command("git", "rev-parse", "HEAD").Run(); err != nil {
		t.Skipf("git rev-parse: %v (not in a git checkout)", err)
	}
	out := mustRun(t, newRoot(t), "--version")
	_, rest, _ := strings.Cut(out, "commit: ")
	commit, _, _ := strings.Cut(rest, "\n")
	// The binary was built from a commit of this repository (HEAD may
	// have moved on since).
	if len(commit) != 40 || exec.Command("git", "cat-file", "-e", commit+"^{commit}").Run() != nil {
		t.Errorf("--version commit %q is no commit of this repository:\n%s", commit, out)
	}
	for _, want := range []string{"layerctl version ", "go: " + runtime.Version()} {
		if !strings.Contains(out, want) {
			t.Errorf("--version printed %q, want %q in it", out, want)
		}
	}
	if strings.Contains(out, "version dev") {
		t.Errorf("--version %q: the Makefile did not set the version", out)
	}
}

// On amd64 the binary starts at prefault's entry point (the Makefile's
// ENTRY): its data is mapped before the runtime starts, and its image too
// when the page cache holds nine pages in ten of it.
func TestCLIBinaryEntry(t *testing.T) {
	t.Parallel()
	if runtime.GOARCH != "amd64" {
		t.Skip("the entry point is amd64's only")
	}
	_, stderr, code := run(t, newRoot(t), "--log-level", "debug", "images")
	if code != 0 {
		t.Fatalf("images: exit %d: %s", code, stderr)
	}
	m := regexp.MustCompile(`msg="the entry point mapped the binary" data=(\w+) image=(\w+) image_pages=(\d+) cached_pages=(\d+)`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no debug line of the entry point: the binary was not linked with it?\n%s", stderr)
	}
	pages, _ := strconv.Atoi(m[3])
	cached, _ := strconv.Atoi(m[4])
	if m[1] != "true" || m[2] != strconv.FormatBool(cached*10 >= pages*9) || pages == 0 || cached > pages {
		t.Errorf("entry point: %s", m[0])
	}
}

// The binary's heap starts at its mapping's start (the Makefile's HEAPBASE),
// where the Go that built it knows the setting: prefault's huge pages then
// hold the heap of a whole command.
func TestCLIBinaryHeapBase(t *testing.T) {
	t.Parallel()
	known := exec.Command("go", "env", "GOEXPERIMENT")
	known.Env = append(os.Environ(), "GOEXPERIMENT=norandomizedheapbase64")
	if err := known.Run(); err != nil {
		t.Skipf("this Go does not know norandomizedheapbase64: %v", err)
	}
	info, err := buildinfo.ReadFile(binPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range info.Settings {
		if s.Key == "GOEXPERIMENT" && strings.Contains(s.Value, "norandomizedheapbase64") {
			return
		}
	}
	t.Errorf("layerctl was built without GOEXPERIMENT=norandomizedheapbase64: %v", info.Settings)
}
