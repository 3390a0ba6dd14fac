package container_test

// Helpers of the commit tests: an overlay store with containers, the images
// they start from, a tree snapshot that two rootfs views are compared by,
// and readers of a committed layer's tar.

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"

	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/container"
	"github.com/layerctl/layerctl/pkg/image"
	"github.com/layerctl/layerctl/pkg/image/registrytest"
	"github.com/layerctl/layerctl/pkg/layer"
	lt "github.com/layerctl/layerctl/pkg/layer/layertest"
	"github.com/layerctl/layerctl/pkg/union"
	"github.com/layerctl/layerctl/pkg/whiteout"
)

// commitEpoch is the fixed image time and mtime clamp of the commit tests
// (SOURCE_DATE_EPOCH of testdata/mkimage.sh).
var commitEpoch = registrytest.Epoch

// commitEnv is an overlay store with its images and containers.
type commitEnv struct {
	ls *layer.Store
	im *image.Images
	cs *container.Store
}

// newCommitEnv opens a fresh overlay store. It skips unless the test runs as
// root on a kernel with overlay, and fails the test if a mount under the
// store outlives it.
func newCommitEnv(t *testing.T) commitEnv {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: overlay mounts, chown, trusted.* xattrs")
	}
	features := union.Detect()
	if !features.Overlay {
		t.Skip("overlay is not in /proc/filesystems")
	}
	root := t.TempDir()
	t.Cleanup(func() { commitCheckNoMounts(t, root) }) // runs after the unmounts below
	ls, err := layer.Open(root, layer.OpenOptions{Default: func() (layer.Settings, error) {
		return layer.Settings{Driver: union.Overlay, Whiteout: whiteout.FormatOverlay}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ls.Close() })
	im, err := image.NewImages(ls)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := container.NewStore(ls, im, features)
	if err != nil {
		t.Fatal(err)
	}
	return commitEnv{ls, im, cs}
}

// commitCheckNoMounts fails the test if anything is mounted under dir, and
// detaches it so the temp dir can go.
func commitCheckNoMounts(t *testing.T, dir string) {
	left, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		return
	}
	for _, m := range left {
		if m.Mountpoint == dir {
			continue
		}
		t.Errorf("mount left at %s", m.Mountpoint)
		unix.Unmount(m.Mountpoint, unix.MNT_DETACH)
	}
}

// pullDerived stores testdata/mkimage.sh's "derived" image (busybox, then
// /etc/motd and /opt/app, then a whiteout and an opaque dir) as derived:latest.
func (e commitEnv) pullDerived(t *testing.T) image.Record {
	t.Helper()
	dir := registrytest.MakeImage(t, "derived")
	return e.pull(t, "oci:"+dir+":latest", "derived:latest")
}

// pullTiny stores a one-layer image built here, for tests that need no
// busybox.
func (e commitEnv) pullTiny(t *testing.T) image.Record {
	t.Helper()
	tarBytes := lt.Tar(t, lt.Dir("etc/"), lt.File("etc/passwd", "root:x:0:0::/:/bin/sh\n"), lt.Dir("data/"), lt.File("data/f", "f"))
	img := registrytest.OCIImage(t, nil, static.NewLayer(tarBytes, types.OCIUncompressedLayer))
	src := registrytest.WriteLayout(t, filepath.Join(t.TempDir(), "tiny"), img, "v1")
	return e.pull(t, src, "tiny:v1")
}

func (e commitEnv) pull(t *testing.T, src, name string) image.Record {
	t.Helper()
	rec, err := image.Pull(t.Context(), e.ls, e.im, src, image.PullOptions{Name: name, Insecure: true})
	if err != nil {
		t.Fatalf("pull %s: %v", src, err)
	}
	return rec
}

func (e commitEnv) create(t *testing.T, img string) container.State {
	t.Helper()
	s, err := e.cs.Create(t.Context(), container.CreateOptions{Image: img})
	if err != nil {
		t.Fatalf("create a container of %s: %v", img, err)
	}
	return s
}

// mount mounts a container until the test ends.
func (e commitEnv) mount(t *testing.T, id string) string {
	t.Helper()
	path, err := e.cs.Mount(id)
	if err != nil {
		t.Fatalf("mount: %v", err)
	}
	t.Cleanup(func() {
		if err := e.cs.Umount(id, true); err != nil {
			t.Errorf("umount %s: %v", id, err)
		}
	})
	return path
}

// commit commits a container with the fixed time and clamp.
func (e commitEnv) commit(t *testing.T, id, name string, changes ...string) (image.Record, layer.Meta) {
	t.Helper()
	opts := container.CommitOptions{Clamp: commitEpoch}
	opts.Created, opts.Changes = commitEpoch, changes
	if name != "" {
		opts.Name = image.NormalizeName(name)
	}
	rec, m, err := e.cs.Commit(t.Context(), id, opts)
	if err != nil {
		t.Fatalf("commit %s: %v", id, err)
	}
	return rec, m
}

// layerTar reads a stored layer's tar back, as push sends it.
func (e commitEnv) layerTar(t *testing.T, chainID digest.Digest) []byte {
	t.Helper()
	rc, err := e.ls.Tar(chainID)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read layer %s: %v", chainID, err)
	}
	if got := digest.FromBytes(b); got != mustMeta(t, e.ls, chainID).DiffID {
		t.Errorf("layer %s: its tar hashes to %s, not its diffID", chainID, got)
	}
	return b
}

func mustMeta(t *testing.T, ls *layer.Store, chainID digest.Digest) layer.Meta {
	t.Helper()
	m, err := ls.Get(chainID)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// storeEntries lists layers/, images/ and tmp/: what a failed commit must
// leave as it was (tmp/ empty).
func (e commitEnv) storeEntries(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, d := range []string{"layers", "images", "tmp"} {
		ents, err := os.ReadDir(filepath.Join(e.ls.Root(), d))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s:", d)
		for _, en := range ents {
			b.WriteString(" " + en.Name())
		}
		b.WriteString("\n")
	}
	refs, _ := os.ReadFile(filepath.Join(e.ls.Root(), "images", "refs.json"))
	b.Write(refs)
	return b.String()
}

// --- trees ---

// commitNode is what two views of a rootfs must agree on for one path.
type commitNode struct {
	Type     string // dir, reg, symlink, fifo, char, block, socket
	Mode     uint32 // permission and setuid/setgid/sticky bits
	UID, GID uint32
	Size     int64  // regular files and symlinks
	SHA256   string // regular files
	Link     string // symlink target
	Xattrs   string // "name=value" sorted, without overlay's own
	LinkedTo string // the other names of a hardlinked file, sorted
}

// commitTree snapshots the tree under root, leaving out what a commit
// never carries (the -init layer's files and the mountpoints).
func commitTree(t *testing.T, root string) map[string]commitNode {
	t.Helper()
	nodes := map[string]commitNode{}
	inodes := map[uint64][]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, root), "/")
		if rel != "" && container.ExcludeInit(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		n := commitNode{Mode: st.Mode & 0o7777, UID: st.Uid, GID: st.Gid}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			n.Type = "dir"
		case unix.S_IFREG:
			n.Type, n.Size = "reg", st.Size
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			n.SHA256 = hex.EncodeToString(sum[:])
			if st.Nlink > 1 {
				inodes[st.Ino] = append(inodes[st.Ino], rel)
			}
		case unix.S_IFLNK:
			n.Type, n.Size = "symlink", st.Size
			if n.Link, err = os.Readlink(p); err != nil {
				return err
			}
		case unix.S_IFIFO:
			n.Type = "fifo"
		case unix.S_IFCHR:
			n.Type = fmt.Sprintf("char %d/%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
		case unix.S_IFBLK:
			n.Type = fmt.Sprintf("block %d/%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
		default:
			n.Type = "socket"
		}
		names, err := whiteout.ListXattrs(p)
		if err != nil {
			return err
		}
		var xs []string
		for _, name := range names {
			if strings.HasPrefix(name, "trusted.overlay.") {
				continue
			}
			v, err := whiteout.GetXattr(p, name)
			if err != nil {
				return err
			}
			xs = append(xs, name+"="+string(v))
		}
		sort.Strings(xs)
		n.Xattrs = strings.Join(xs, " ")
		nodes[rel] = n
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	for _, group := range inodes {
		for _, name := range group {
			var others []string
			for _, o := range group {
				if o != name {
					others = append(others, o)
				}
			}
			sort.Strings(others)
			n := nodes[name]
			n.LinkedTo = strings.Join(others, " ")
			nodes[name] = n
		}
	}
	return nodes
}

// commitCompareTrees reports every path where got differs from want.
func commitCompareTrees(t *testing.T, wantName string, want map[string]commitNode, gotName string, got map[string]commitNode) {
	t.Helper()
	var diffs []string
	for p, w := range want {
		g, ok := got[p]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("/%s: missing from %s", p, gotName))
		case g != w:
			diffs = append(diffs, fmt.Sprintf("/%s:\n    %s: %+v\n    %s: %+v", p, wantName, w, gotName, g))
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			diffs = append(diffs, fmt.Sprintf("/%s: only in %s", p, gotName))
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Errorf("%s and %s differ:\n  %s", wantName, gotName, strings.Join(diffs, "\n  "))
	}
}

// --- tars ---

// commitHeaders lists a layer tar's headers in order.
func commitHeaders(t *testing.T, b []byte) []*tar.Header {
	t.Helper()
	var out []*tar.Header
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("read layer tar: %v", err)
		}
		out = append(out, h)
	}
}

// diffOfTar is what `diff` must print for a layer tar, given the paths the
// container saw below its rw layer: a ".wh.NAME" is D NAME, a directory with
// an opaque marker is D DIR (its new children are A), any other entry is C
// when it existed below, else A.
func diffOfTar(hdrs []*tar.Header, below map[string]commitNode) []string {
	opaque := map[string]bool{}
	for _, h := range hdrs {
		dir, base := filepath.Split(h.Name)
		if base == whiteout.OpaqueMarker {
			opaque[strings.TrimSuffix(dir, "/")] = true
		}
	}
	var out []string
	for _, h := range hdrs {
		name := strings.TrimSuffix(h.Name, "/")
		dir, base := filepath.Split(name)
		switch kind, target := whiteout.Classify(base); {
		case kind == whiteout.Opaque:
			out = append(out, "D /"+strings.TrimSuffix(dir, "/"))
		case kind == whiteout.Whiteout:
			out = append(out, "D /"+dir+target)
		case opaque[name]:
			// shown by its marker
		case below[name] != (commitNode{}):
			out = append(out, "C /"+name)
		default:
			out = append(out, "A /"+name)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i][2:] < out[j][2:] }) // by path, as diff sorts
	return out
}
