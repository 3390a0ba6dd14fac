package build_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/layerctl/layerctl/pkg/build"
	"github.com/layerctl/layerctl/pkg/image"
)

// TestBuildahDifferential builds the same Dockerfile with layerctl and with
// buildah (bud --layers, chroot isolation, vfs, a store of its own), pushes
// both images to OCI layouts, unpacks them with umoci and compares the
// trees (mtimes aside: RUN makes new ones) and the config fields a
// Dockerfile sets.
func TestBuildahDifferential(t *testing.T) {
	for _, tool := range []string{"buildah", "umoci"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found (apt-get install %s; `make deps`)", tool, tool)
		}
	}
	s := newStore(t)
	busybox, err := busyboxLayout()
	if err != nil {
		t.Fatal(err)
	}
	dir := writeContext(t, map[string]string{
		"Dockerfile": `FROM busybox
ARG WHO=world
ENV A=1 GREETING="hello $WHO"
WORKDIR /app
RUN echo "$GREETING" > /app/x && mkdir -p /data/sub && echo d > /data/sub/d && chmod 700 /data/sub && rm /bin/vi
COPY f sub /app/
COPY --chown=65534:65534 f /owned/f
COPY sub/l /app/followed
COPY . /all/
USER nobody
WORKDIR /home/nobody/w
RUN true
EXPOSE 80 53/udp
VOLUME /vol
STOPSIGNAL SIGINT
LABEL k=v
ENTRYPOINT ["sh"]
CMD ["-c", "true"]
`,
		"f": "f\n", "sub/a": "a\n", "sub/l": "->a", "sub/deeper/b": "b\n",
		// COPY . of a context's dot files, the .dockerignore itself and its exceptions.
		".env": "E=1\n", "sub/.hidden": "h\n", ".dockerignore": "*.md\n!keep.md\n", "keep.md": "k\n", "drop.md": "d\n",
	})
	os.Chmod(filepath.Join(dir, "sub", "a"), 0o751)
	work := t.TempDir()

	if _, progress, err := buildIn(t.Context(), s, dir, build.Options{Tags: []string{"diff"}}); err != nil {
		t.Fatalf("layerctl build: %v\n%s", err, progress)
	}
	ours := filepath.Join(work, "ours")
	if _, err := s.Push(t.Context(), "diff", "oci:"+ours+":latest", image.PushOptions{}); err != nil {
		t.Fatal(err)
	}

	theirs := filepath.Join(work, "theirs")
	bah := []string{"--root", filepath.Join(work, "root"), "--runroot", filepath.Join(work, "runroot"), "--storage-driver", "vfs"}
	buildah := func(args ...string) string {
		out, err := exec.CommandContext(t.Context(), "buildah", append(bah, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("buildah %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	t.Cleanup(func() { exec.Command("buildah", append(bah, "rm", "--all")...).Run() })
	id := buildah("pull", "-q", "oci:"+busybox+":latest")
	buildah("tag", id, "busybox:latest")
	buildah("bud", "-q", "--layers", "--isolation", "chroot", "-t", "diff", dir)
	buildah("push", "-q", "diff", "oci:"+theirs+":latest")

	ourCfg, theirCfg := layoutConfig(t, ours), layoutConfig(t, theirs)
	delete(theirCfg.Config.Labels, "io.buildah.version")
	for _, f := range []string{"Env", "Entrypoint", "Cmd", "WorkingDir", "User", "ExposedPorts", "Volumes", "StopSignal", "Labels"} {
		a := reflect.ValueOf(ourCfg.Config).FieldByName(f).Interface()
		b := reflect.ValueOf(theirCfg.Config).FieldByName(f).Interface()
		if !reflect.DeepEqual(a, b) {
			t.Errorf("config %s: layerctl %v, buildah %v", f, a, b)
		}
	}
	ourTree, theirTree := unpackTree(t, ours, work), unpackTree(t, theirs, work)
	// buildah's chroot RUN leaves the empty targets of its bind mounts in
	// the layer; layerctl keeps its -init layer out of the image.
	for _, p := range []string{"/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/run"} {
		if _, ours := ourTree[p]; !ours && (strings.HasSuffix(theirTree[p], "e3b0c44298fc") || strings.HasPrefix(theirTree[p], "d")) {
			delete(theirTree, p)
		}
	}
	for p, e := range theirTree {
		if ourTree[p] != e {
			t.Errorf("%s: layerctl %q, buildah %q", p, ourTree[p], e)
		}
	}
	for p, e := range ourTree {
		if _, ok := theirTree[p]; !ok {
			t.Errorf("%s: only layerctl has it (%s)", p, e)
		}
	}
}

// layoutConfig reads the config of an OCI layout's one image.
func layoutConfig(t *testing.T, dir string) *v1.ConfigFile {
	t.Helper()
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil || len(m.Manifests) != 1 {
		t.Fatalf("%s: %v, %d manifests", dir, err, len(m.Manifests))
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// unpackTree unpacks an OCI layout with umoci and describes every path of
// its rootfs: type, mode, owner, content or link target. Not mtimes.
func unpackTree(t *testing.T, dir, work string) map[string]string {
	t.Helper()
	bundle := filepath.Join(work, "bundle-"+filepath.Base(dir))
	if out, err := exec.Command("umoci", "unpack", "--image", dir+":latest", bundle).CombinedOutput(); err != nil {
		t.Fatalf("umoci unpack: %v\n%s", err, out)
	}
	root := filepath.Join(bundle, "rootfs")
	tree := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		desc := fmt.Sprintf("%s %o %d:%d", fi.Mode().Type(), fi.Mode().Perm(), st.Uid, st.Gid)
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			link, _ := os.Readlink(p)
			desc += " -> " + link
		case fi.Mode().IsRegular():
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			h := sha256.New()
			io.Copy(h, f)
			f.Close()
			desc += " " + hex.EncodeToString(h.Sum(nil))[:12]
		}
		rel, _ := filepath.Rel(root, p)
		tree["/"+rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}
