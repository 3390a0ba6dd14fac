package build_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	digest "github.com/opencontainers/go-digest"

	"github.com/layerctl/layerctl/pkg/build"
	"github.com/layerctl/layerctl/pkg/cgroup"
	"github.com/layerctl/layerctl/pkg/container"
	"github.com/layerctl/layerctl/pkg/image"
	"github.com/layerctl/layerctl/pkg/image/registrytest"
	"github.com/layerctl/layerctl/pkg/ns"
	"github.com/layerctl/layerctl/pkg/union/uniontest"
)

func TestMain(m *testing.M) {
	ns.Init() // RUN re-executes this binary as the container's init step
	code := m.Run()
	if busyboxDir != "" {
		os.RemoveAll(busyboxDir)
	}
	os.Exit(code)
}

// busyboxDir holds the busybox layout every test pulls: mkimage.sh runs
// once per test binary (it takes seconds on a loaded machine).
var (
	busyboxDir  string
	busyboxOnce sync.Once
	busyboxErr  error
)

func busyboxLayout() (string, error) {
	busyboxOnce.Do(func() {
		root, err := registrytest.RepoRoot()
		if err == nil {
			busyboxDir, err = os.MkdirTemp("", "layerctl-build-test-")
		}
		if err != nil {
			busyboxErr = err
			return
		}
		out, err := exec.Command("bash", filepath.Join(root, "testdata", "mkimage.sh"), "busybox", busyboxDir+"/busybox").CombinedOutput()
		if err != nil {
			busyboxErr = fmt.Errorf("mkimage.sh busybox: %v\n%s", err, out)
		}
	})
	return busyboxDir + "/busybox", busyboxErr
}

// newStore opens a fresh overlay store with testdata/mkimage.sh's busybox
// as busybox:latest. When the test ends no container, mount or cgroup of
// it may be left.
func newStore(t *testing.T) *container.Store {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("builds run containers: needs root")
	}
	if _, err := cgroup.Detect(); err != nil {
		t.Skip(err)
	}
	if err := exec.Command("ldd", "/bin/busybox").Run(); err == nil {
		t.Skip("/bin/busybox is dynamically linked (apt-get install busybox-static)")
	}
	if _, err := exec.LookPath("umoci"); err != nil {
		t.Skip("umoci not found (apt-get install umoci): it makes the busybox image")
	}
	layout, lerr := busyboxLayout()
	if lerr != nil {
		t.Fatal(lerr)
	}
	root := t.TempDir()
	uniontest.CleanupMounts(t, root)
	s, err := container.Open(root, container.WithDriver("overlay"))
	if err != nil {
		t.Skip("no overlay store here: ", err)
	}
	t.Cleanup(func() {
		all, _ := s.List()
		for _, st := range all {
			t.Errorf("container %s left behind", st.ID)
			s.Remove(st.ID, true)
		}
		if m, _ := os.ReadFile("/proc/mounts"); bytes.Contains(m, []byte(root)) {
			t.Errorf("mounts left under %s", root)
		}
		s.Close()
	})
	if _, err := s.Pull(t.Context(), "oci:"+layout+":latest", image.PullOptions{Name: "busybox:latest"}); err != nil {
		t.Fatal(err)
	}
	return s
}

// writeContext makes a build context of path -> content ("->x" makes a
// symlink to x).
func writeContext(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		if target, ok := strings.CutPrefix(content, "->"); ok {
			err = os.Symlink(target, p)
		} else {
			err = os.WriteFile(p, []byte(content), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// buildIn builds a context's Dockerfile into s.
func buildIn(ctx context.Context, s *container.Store, dir string, o build.Options) (digest.Digest, string, error) {
	var progress bytes.Buffer
	o.Context, o.Progress = dir, &progress
	for i, tag := range o.Tags { // as the CLI passes them
		n, err := image.ParseName(tag)
		if err != nil {
			return "", "", err
		}
		o.Tags[i] = n
	}
	id, err := build.Build(ctx, s, o)
	return id, progress.String(), err
}

func configOf(t *testing.T, s *container.Store, ref string) *v1.ConfigFile {
	t.Helper()
	_, cfg, err := s.ImageConfigFile(ref)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// runIn runs a command in a container of ref and returns its output.
func runIn(t *testing.T, s *container.Store, ref string, args ...string) string {
	t.Helper()
	ep := ""
	ctr, err := s.Create(t.Context(), container.CreateOptions{Image: ref, Run: &container.RunConfig{Cmd: args, Entrypoint: &ep, User: "0"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Remove(ctr.ID, true)
	var out bytes.Buffer
	code, err := s.Run(t.Context(), ctr.ID, container.Stdio{Stdout: &out, Stderr: &out})
	if err != nil || code != 0 {
		t.Fatalf("run %q: code %d, %v: %s", args, code, err, out.String())
	}
	return out.String()
}

// writeTarGz writes a gzip-compressed tar of path -> content.
func writeTarGz(t *testing.T, name string, files map[string]string) {
	t.Helper()
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	for p, content := range files {
		tw.WriteHeader(&tar.Header{Name: p, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg, ModTime: time.Unix(1700000000, 0)})
		tw.Write([]byte(content))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
}

// mustImages lists the store's images by ID, busybox by its name.
func mustImages(t *testing.T, s *container.Store) []string {
	t.Helper()
	recs, err := s.Images()
	if err != nil {
		t.Fatal(err)
	}
	bb, _ := s.ResolveImage("busybox")
	var out []string
	for _, r := range recs {
		if r.ID == bb.ID {
			out = append(out, "busybox")
		} else {
			out = append(out, r.ID.String())
		}
	}
	return out
}
