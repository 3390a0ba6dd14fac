package layer_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/layer"
)

// stageTree stages a diff dir with every kind of entry a COPY writes.
func stageTree(t *testing.T, s *layer.Store) *layer.Staged {
	t.Helper()
	st, err := s.Stage()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Discard)
	tr := tree{t, st.Dir}
	tr.file("app/a", "alpha").file("app/sub/b", "beta").mkdir("app/empty").symlink("app/sub/to-a", "../a")
	tr.link("app/hard", "app/a").file("app/x", "xattr").xattr("app/x", "user.k", "v")
	if err := os.Chmod(tr.path("app/sub/b"), 0o4750); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(tr.path("app/sub"), 1000, 1001); err != nil {
		t.Fatal(err)
	}
	tr.mtimes()
	return st
}

func TestRegisterStagedDir(t *testing.T) {
	requireRoot(t)
	s := openPutStore(t)
	ctx := t.Context()
	base, _, err := s.Put(ctx, "", bytesSource(writeDiff(t, newTree(t).file("etc/conf", "c").mtimes().dir, layer.DiffOptions{Converter: s.Converter()})))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		clamp time.Time
	}{
		{"mtimes kept", time.Time{}},
		{"mtimes clamped", diffEpoch.Add(-time.Hour)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := stageTree(t, s)
			// What the differ writes for the same dir is the layer's stream.
			want := writeDiff(t, st.Dir, layer.DiffOptions{Converter: s.Converter(), Clamp: tc.clamp})
			sum := sha256.Sum256(want)
			m, created, err := st.Register(ctx, base.ChainID, tc.clamp)
			if err != nil || !created {
				t.Fatalf("Register: created=%v err=%v", created, err)
			}
			if d := digest.NewDigestFromBytes(digest.SHA256, sum[:]); m.DiffID != d || m.ChainID != layer.ChainID(base.ChainID, d) || m.Parent != base.ChainID {
				t.Errorf("meta %+v: want diffID %s over %s", m, d, base.ChainID)
			}
			if m.Size != int64(len("alpha")+len("beta")+len("xattr")) {
				t.Errorf("size %d, want the bytes of the three files", m.Size)
			}
			rc, err := s.Tar(m.ChainID)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("reassembled stream differs from the differ's (err %v)", err)
			}
			if err := s.Verify(ctx, m.ChainID); err != nil {
				t.Errorf("verify: %v", err)
			}
			var fi unix.Stat_t
			if err := unix.Lstat(s.DiffDir(m.ChainID)+"/app/sub", &fi); err != nil {
				t.Fatal(err)
			}
			if mt := time.Unix(fi.Mtim.Unix()); !tc.clamp.IsZero() && !mt.Equal(tc.clamp) || tc.clamp.IsZero() && !mt.Equal(diffEpoch) {
				t.Errorf("app/sub mtime in the diff dir %v, want the tar's", mt)
			}
		})
	}
	t.Run("the same layer twice is stored once", func(t *testing.T) {
		first, _, err := stageTree(t, s).Register(ctx, base.ChainID, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		again, created, err := stageTree(t, s).Register(ctx, base.ChainID, time.Time{})
		if err != nil || created || again.ChainID != first.ChainID {
			t.Errorf("second Register: %s created=%v err=%v, want %s again", again.ChainID, created, err, first.ChainID)
		}
	})
	t.Run("a missing parent stores nothing", func(t *testing.T) {
		layersBefore, _ := storeContents(t, s)
		st := stageTree(t, s)
		if _, _, err := st.Register(ctx, digest.FromString("gone"), time.Time{}); !errors.Is(err, layer.ErrNotFound) {
			t.Errorf("Register over a missing parent: %v, want ErrNotFound", err)
		}
		st.Discard()
		layers, tmp := storeContents(t, s)
		if len(layers) != len(layersBefore) || len(tmp) != 0 {
			t.Errorf("left layers %v (had %v), tmp %v", layers, layersBefore, tmp)
		}
	})
}

// TestOpenMarksTmpTopDir: the store's tmp/, where every layer is built,
// carries FS_TOPDIR_FL, so ext4 spreads the layers' dirs over block groups.
func TestOpenMarksTmpTopDir(t *testing.T) {
	s := openPutStore(t)
	fd, err := unix.Open(filepath.Join(s.Root(), "tmp"), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	flags, err := unix.IoctlGetInt(fd, unix.FS_IOC_GETFLAGS)
	if err != nil {
		t.Skipf("the test directory's filesystem keeps no inode flags: %v", err)
	}
	if flags&0x00020000 == 0 {
		t.Errorf("tmp/ flags %#x: want FS_TOPDIR_FL", flags)
	}
}

// TestListInChain lists a directory as the image shows it: the nearest
// layer's entry for each name, no name a whiteout hides, and no directory
// reached through a symlink.
func TestListInChain(t *testing.T) {
	requireRoot(t)
	s := openPutStore(t)
	ctx := t.Context()
	opts := layer.DiffOptions{Converter: s.Converter()}
	base, _, err := s.Put(ctx, "", bytesSource(writeDiff(t, newTree(t).file("etc/a", "a").file("etc/gone", "g").file("etc/sub/x", "x").symlink("link", "etc").mtimes().dir, opts)))
	if err != nil {
		t.Fatal(err)
	}
	top, _, err := s.Put(ctx, base.ChainID, bytesSource(writeDiff(t, newTree(t).file("etc/a", "new").mknod("etc/gone", unix.S_IFCHR, 0, 0).file("etc/b", "b").mtimes().dir, opts)))
	if err != nil {
		t.Fatal(err)
	}
	list, err := s.ListInChain(top.ChainID, "etc")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": s.DiffDir(top.ChainID) + "/etc/a", "b": s.DiffDir(top.ChainID) + "/etc/b", "sub": s.DiffDir(base.ChainID) + "/etc/sub"}
	if len(list) != len(want) {
		t.Errorf("etc lists %v, want %v", list, want)
	}
	for name, p := range want {
		if list[name] != p {
			t.Errorf("etc/%s at %q, want %q", name, list[name], p)
		}
	}
	for _, dir := range []string{"link", "etc/a", "nowhere"} {
		if _, err := s.ListInChain(top.ChainID, dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("ListInChain(%s): %v, want fs.ErrNotExist", dir, err)
		}
	}
}
