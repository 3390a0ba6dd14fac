package main

// End-to-end tests of `commit` and `push`: a container changed through its
// mounted rootfs is committed, pushed to an OCI layout, a docker-archive and
// a real registry (gzip and zstd), and pulled back as the same image; bad
// input fails in one line and leaves the store and the destination alone.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	digest "github.com/opencontainers/go-digest"

	"github.com/layerctl/layerctl/pkg/image/registrytest"
)

// commitInspected is the part of `inspect` of a committed image these tests
// read.
type commitInspected struct {
	ID     string `json:"Id"`
	RootFS struct{ Layers []digest.Digest }
	Config v1.ConfigFile
}

// requireMount skips unless layerctl can mount containers here.
func requireMount(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a container")
	}
	if defaultDriver(t) != "overlay" {
		t.Skip("overlay is not in /proc/filesystems")
	}
}

// commitBase pulls a two-layer image as base:1 into root and creates a
// container of it.
func commitBase(t *testing.T, root string, seed int64) (imageID, containerID string) {
	t.Helper()
	img := newImage(t, baseLayer(t, seed), appLayer(t, "commit"))
	imageID = pullID(t, root, "oci:"+writeLayout(t, img, "v1")+":v1", "base:1")
	return imageID, lastLine(mustRun(t, root, "create", "base:1"))
}

// mountContainer mounts a container until the test ends.
func mountContainer(t *testing.T, root, id string) string {
	t.Helper()
	t.Cleanup(func() { command(root, "umount", id).Run() })
	return lastLine(mustRun(t, root, "mount", id))
}

// layoutEntries reads an OCI layout's index: ref.name -> manifest digest.
// It also checks that every blob's sha256 is its name.
func layoutEntries(t *testing.T, dir string) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(raw, &idx); err != nil {
		t.Fatalf("index.json: %v", err)
	}
	out := map[string]string{}
	for _, d := range idx.Manifests {
		out[d.Annotations["org.opencontainers.image.ref.name"]] = d.Digest.String()
	}
	blobs, err := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range blobs {
		data, err := os.ReadFile(filepath.Join(dir, "blobs", "sha256", b.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != b.Name() {
			t.Errorf("layout blob %s hashes to %x", b.Name(), sum)
		}
	}
	return out
}

// layoutManifest reads the manifest a layout's index names for tag.
func layoutManifest(t *testing.T, dir, tag string) v1.Manifest {
	t.Helper()
	d := digest.Digest(layoutEntries(t, dir)[tag])
	raw, err := os.ReadFile(filepath.Join(dir, "blobs", "sha256", d.Encoded()))
	if err != nil {
		t.Fatalf("manifest of %s: %v", tag, err)
	}
	var m v1.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestCLICommitPush(t *testing.T) {
	requireMount(t)
	root := newRoot(t)
	baseID, cid := commitBase(t, root, 41)
	merged := mountContainer(t, root, cid)
	for _, step := range []func() error{
		func() error { return os.WriteFile(filepath.Join(merged, "app/new.txt"), []byte("new\n"), 0o644) },
		func() error { return os.Remove(filepath.Join(merged, "usr/lib/data")) },
		func() error {
			return os.WriteFile(filepath.Join(merged, "etc/passwd"), []byte("root:x:0:0::/:/bin/sh\n"), 0o644)
		},
		func() error { return os.Chmod(filepath.Join(merged, "etc/passwd"), 0o600) },
		func() error { return os.WriteFile(filepath.Join(merged, "etc/hosts"), []byte("10.1.1.1 db\n"), 0o644) },
		func() error { return os.MkdirAll(filepath.Join(merged, "opt/x"), 0o755) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	// /etc/hosts belongs to the -init layer: neither diff nor commit shows it.
	wantDiff := "C /app\nA /app/new.txt\nC /etc\nC /etc/passwd\nA /opt\nA /opt/x\nC /usr\nC /usr/lib\nD /usr/lib/data\n"
	if got := mustRun(t, root, "diff", cid); got != wantDiff {
		t.Errorf("diff:\n%s\nwant:\n%s", got, wantDiff)
	}

	commitArgs := []string{"commit", "-m", "add new", "--author", "me <me@example.com>",
		"--change", `CMD ["/app/new.txt"]`, "--change", "ENV MODE=test", "--change", "EXPOSE 8080 53/udp",
		"--timestamp", "1700000000", cid}
	id := lastLine(mustRun(t, root, append(commitArgs, "app:2")...))
	if digest.Digest(id).Validate() != nil || id == baseID {
		t.Fatalf("commit printed %q: want a new image ID", id)
	}
	// The same commit again, and with SOURCE_DATE_EPOCH for --timestamp: the
	// same image.
	if again := lastLine(mustRun(t, root, append(commitArgs, "app:3")...)); again != id {
		t.Errorf("the same commit again printed %s, want %s", again, id)
	}
	envArgs := slices.Clone(commitArgs)
	envArgs = append(slices.Delete(envArgs, len(envArgs)-3, len(envArgs)-1), "app:4")
	cmd := command(root, envArgs...)
	cmd.Env = append(cmd.Env, "SOURCE_DATE_EPOCH=1700000000")
	if out, err := cmd.Output(); err != nil || lastLine(string(out)) != id {
		t.Errorf("commit with SOURCE_DATE_EPOCH printed %q (%v), want %s", out, err, id)
	}

	var got commitInspected
	if err := json.Unmarshal([]byte(mustRun(t, root, "inspect", "app:2")), &got); err != nil {
		t.Fatal(err)
	}
	base := inspectJSON(t, root, "base:1")
	cfg := got.Config
	last := cfg.History[len(cfg.History)-1]
	switch {
	case got.ID != id || len(got.RootFS.Layers) != len(base.RootFS.Layers)+1 || !slices.Equal(got.RootFS.Layers[:len(base.RootFS.Layers)], base.RootFS.Layers):
		t.Errorf("inspect app:2: ID %s layers %v; want %s with one layer over %v", got.ID, got.RootFS.Layers, id, base.RootFS.Layers)
	case !slices.Equal(cfg.Config.Cmd, []string{"/app/new.txt"}) || !slices.Equal(cfg.Config.Env, []string{"PATH=/bin", "MODE=test"}):
		t.Errorf("config Cmd %q Env %q", cfg.Config.Cmd, cfg.Config.Env)
	case len(cfg.Config.ExposedPorts) != 2 || cfg.Author != "me <me@example.com>" || cfg.Created.Unix() != 1700000000:
		t.Errorf("config ports %v author %q created %v", cfg.Config.ExposedPorts, cfg.Author, cfg.Created)
	case last.Comment != "add new" || last.Author != cfg.Author || !strings.Contains(last.CreatedBy, "EXPOSE 8080 53/udp"):
		t.Errorf("history entry %+v", last)
	}
	mustRun(t, root, "umount", cid)

	out := t.TempDir()
	layout := filepath.Join(out, "layout")
	ociDigest := lastLine(mustRun(t, root, "push", "app:2", "oci:"+layout+":app"))
	if entries := layoutEntries(t, layout); len(entries) != 1 || entries["app"] != ociDigest {
		t.Errorf("layout index %v, want app -> %s (what push printed)", entries, ociDigest)
	}
	if _, err := exec.LookPath("umoci"); err == nil {
		if out, err := exec.Command("umoci", "stat", "--image", layout+":app").CombinedOutput(); err != nil {
			t.Errorf("umoci stat: %v\n%s", err, out)
		}
	}

	archive := filepath.Join(out, "app.tar")
	mustRun(t, root, "push", "app:2", "docker-archive:"+archive+":example.com/app:2")
	if _, err := os.Stat(archive + ".part"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s.part left behind", archive)
	}
	if _, err := exec.LookPath("skopeo"); err == nil {
		registrytest.Skopeo(t, "copy", "-q", "docker-archive:"+archive, "oci:"+filepath.Join(out, "loaded")+":x")
	}

	host := registrytest.Start(t)
	regDigest := lastLine(mustRun(t, root, "push", "--insecure", "app:2", host+"/cli/app:2"))
	// Reassembled layers compress to the same bytes: one manifest everywhere.
	if regDigest != ociDigest {
		t.Errorf("registry push printed %s, the layout push %s", regDigest, ociDigest)
	}

	zstdLayout := filepath.Join(out, "zstd")
	mustRun(t, root, "push", "--compression", "zstd", "app:2", "oci:"+zstdLayout+":app")
	for i, l := range layoutManifest(t, zstdLayout, "app").Layers {
		if l.MediaType != types.OCILayerZStd {
			t.Errorf("zstd push: layer %d has media type %s", i, l.MediaType)
		}
	}

	for _, p := range []struct{ name, src string }{
		{"layout", "oci:" + layout + ":app"}, {"archive", "docker-archive:" + archive},
		{"registry", host + "/cli/app:2"}, {"zstd layout", "oci:" + zstdLayout + ":app"},
	} {
		src := p.src
		t.Run("pull from the "+p.name, func(t *testing.T) {
			fresh := newRoot(t)
			if got := pullID(t, fresh, "--insecure", src); got != id {
				t.Errorf("pull printed %s, want the committed %s", got, id)
			}
			if rows := listLayers(t, fresh); len(rows) != len(got.RootFS.Layers) {
				t.Errorf("%d layers stored, want %d", len(rows), len(got.RootFS.Layers))
			}
			mustRun(t, fresh, "verify")
		})
	}

	// A container of the pulled image sees the committed files.
	fresh := newRoot(t)
	pullID(t, fresh, "--insecure", host+"/cli/app:2")
	c2 := lastLine(mustRun(t, fresh, "create", host+"/cli/app:2"))
	m2 := mountContainer(t, fresh, c2)
	if b, err := os.ReadFile(filepath.Join(m2, "app/new.txt")); err != nil || string(b) != "new\n" {
		t.Errorf("app/new.txt in the pulled image: %q %v", b, err)
	}
	if fi, err := os.Stat(filepath.Join(m2, "etc/passwd")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("etc/passwd in the pulled image: %v %v", fi, err)
	}
	if _, err := os.Lstat(filepath.Join(m2, "usr/lib/data")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("usr/lib/data was deleted, the pulled image has it (%v)", err)
	}
	if b, _ := os.ReadFile(filepath.Join(m2, "etc/hosts")); strings.Contains(string(b), "10.1.1.1") {
		t.Errorf("the committed image carried the old container's /etc/hosts:\n%s", b)
	}
	mustRun(t, fresh, "umount", c2)
}

// Bad input to commit and push fails with exit code 1 and one stderr line,
// and leaves the store, an existing layout and the archive's directory as
// they were.
func TestCLICommitPushErrors(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: a container's layers are chowned to its image's")
	}
	root := newRoot(t)
	_, cid := commitBase(t, root, 42)
	out := t.TempDir()
	layout := filepath.Join(out, "layout")
	mustRun(t, root, "push", "base:1", "oci:"+layout+":kept")
	index, err := os.ReadFile(filepath.Join(layout, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		why  string // in the error line
		// absent must not exist afterwards.
		absent []string
	}{
		{"commit of an unknown container", []string{"commit", "nosuch"}, "not found", nil},
		{"commit without a container", []string{"commit"}, "CONTAINER", nil},
		{"unknown instruction", []string{"commit", "--change", "RUN make", cid}, "unknown instruction", nil},
		{"bad JSON array", []string{"commit", "--change", `CMD ["sh", "-c"`, cid}, "bad JSON array", nil},
		{"bad port", []string{"commit", "--change", "EXPOSE 80 99999", cid}, "bad port", nil},
		{"missing args", []string{"commit", "--change", "ENTRYPOINT", cid}, "needs arguments", nil},
		{"bad timestamp", []string{"commit", "--timestamp", "yesterday", cid}, "timestamp", nil},
		{"bad image name", []string{"commit", cid, "Bad:Name"}, "Bad:Name", nil},
		{"push of an unknown image to a layout", []string{"push", "nosuch:1", "oci:" + out + "/new:x"}, "not found",
			[]string{out + "/new"}},
		{"push of an unknown image to an archive", []string{"push", "nosuch:1", "docker-archive:" + out + "/a.tar"}, "not found",
			[]string{out + "/a.tar", out + "/a.tar.part"}},
		{"push of an unknown image over a layout", []string{"push", "nosuch:1", "oci:" + layout + ":kept"}, "not found", nil},
		{"push to an unreachable registry", []string{"push", "--insecure", "base:1", "127.0.0.1:1/x/y:z"}, "127.0.0.1:1", nil},
		{"push with an unknown compression", []string{"push", "--compression", "lz4", "base:1", "oci:" + layout + ":kept"}, "lz4", nil},
		{"push to an archive in a missing directory", []string{"push", "base:1", "docker-archive:" + out + "/no/a.tar"}, "no/a.tar",
			[]string{out + "/no"}},
		{"push without a destination", []string{"push", "base:1"}, "DEST", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, root)
			_, stderr, code := run(t, root, tc.args...)
			checkOneLineError(t, stderr, code)
			if !strings.Contains(stderr, tc.why) {
				t.Errorf("stderr %q does not say %q", stderr, tc.why)
			}
			// The library's "commit X: ..." is not wrapped in another one.
			if tc.args[0] == "commit" && strings.Count(stderr, "commit") != 1 {
				t.Errorf("stderr %q names the command more than once", stderr)
			}
			checkUnchanged(t, root, before)
			for _, p := range tc.absent {
				if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("%s exists after the failure (%v)", p, err)
				}
			}
			if after, _ := os.ReadFile(filepath.Join(layout, "index.json")); string(after) != string(index) {
				t.Errorf("the layout's index.json changed:\n%s", after)
			}
		})
	}
	// The container is untouched and still commits.
	if id := lastLine(mustRun(t, root, "commit", cid)); digest.Digest(id).Validate() != nil {
		t.Errorf("commit after the failures printed %q", id)
	}
}
