package layer_test

// Tests of Store.Verify: every way the files of a diff dir can drift from the
// tar they were extracted from shows as ErrCorrupt naming the path.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/layer"
	"github.com/layerctl/layerctl/pkg/layer/layertest"
)

// verifyLayerTar has one entry of each kind verify compares, plus an overlay
// whiteout (a 0/0 char device on disk) and an opaque directory.
func verifyLayerTar(t *testing.T) []byte {
	return layertest.Tar(t,
		layertest.Dir("bin/"),
		layertest.File("bin/sh", "#!/bin/busybox sh\n", layertest.Mode(0o755)),
		layertest.Hardlink("bin/sh2", "bin/sh"),
		layertest.Symlink("bin/ls", "sh"),
		layertest.Dir("etc/"),
		layertest.File("etc/passwd", "root:x:0:0::/root:/bin/sh\n"),
		layertest.File("etc/note", "noted\n", layertest.Xattr("user.note", "one")),
		layertest.File("etc/shadow", "root:*:1::::::\n", layertest.Owner(0, 42), layertest.Mode(0o640)),
		layertest.Dir("dev/"),
		layertest.Char("dev/null", 1, 3),
		layertest.Fifo("run/initctl"),
		layertest.File(".wh.gone", ""),
		layertest.Dir("opq/"),
		layertest.File("opq/.wh..wh..opq", ""),
		layertest.File("opq/kept", "kept\n"),
		layertest.File("usr/lib/implied", "a file under dirs the tar does not list\n"),
	)
}

// verifyStore stores the test layer in an overlay-form store.
func verifyStore(t *testing.T) (*layer.Store, digest.Digest) {
	t.Helper()
	s := openPutStore(t)
	data := verifyLayerTar(t)
	m, _, err := s.Create(context.Background(), "", digest.FromBytes(data), func(context.Context) (io.ReadCloser, []layer.Blob, error) {
		return io.NopCloser(bytes.NewReader(data)), nil, nil
	}, layer.CreateOptions{})
	if err != nil {
		t.Fatalf("create layer: %v", err)
	}
	return s, m.ChainID
}

// A cancelled verify stops with ctx's error, never a verdict on the layer.
func TestVerifyCancelled(t *testing.T) {
	requireRoot(t)
	s, id := verifyStore(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := s.Verify(ctx, id)
	if !errors.Is(err, context.Canceled) || errors.Is(err, layer.ErrCorrupt) {
		t.Errorf("verify with a cancelled ctx: %v", err)
	}
}

func TestVerifyUntouchedLayer(t *testing.T) {
	requireRoot(t)
	s, id := verifyStore(t)
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(s.DiffDir(id), "gone"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Fatalf("the layer has no overlay whiteout for gone (%v)", err)
	}
	if err := s.Verify(t.Context(), id); err != nil {
		t.Fatalf("verify of an untouched layer: %v", err)
	}
}

func TestVerifyFindsChanges(t *testing.T) {
	requireRoot(t)
	for _, tc := range []struct {
		name   string
		damage func(diff string) error
		want   string // in the error, beside the path
		path   string
	}{
		{"grown file", func(d string) error { return appendTo(filepath.Join(d, "etc/passwd"), "evil::0:0::/:/bin/sh\n") }, "size", "/etc/passwd"},
		{"shrunk file", func(d string) error { return os.Truncate(filepath.Join(d, "etc/passwd"), 4) }, "size", "/etc/passwd"},
		{"same-size content", func(d string) error {
			return os.WriteFile(filepath.Join(d, "etc/passwd"), []byte("toor:x:0:0::/root:/bin/sh\n"), 0o644)
		}, "content", "/etc/passwd"},
		{"setuid", func(d string) error { return unix.Chmod(filepath.Join(d, "bin/sh"), 0o4777) }, "mode 4777, want 0755", "/bin/sh"},
		{"sticky dir", func(d string) error { return unix.Chmod(filepath.Join(d, "etc"), 0o1777) }, "mode 1777, want 0755", "/etc"},
		{"owner", func(d string) error { return os.Lchown(filepath.Join(d, "etc/shadow"), 1000, 1000) }, "owner 1000:1000, want 0:42", "/etc/shadow"},
		{"symlink target", func(d string) error {
			p := filepath.Join(d, "bin/ls")
			os.Remove(p)
			return os.Symlink("/etc/passwd", p)
		}, "link target /etc/passwd, want sh", "/bin/ls"},
		{"file becomes a fifo", func(d string) error {
			p := filepath.Join(d, "etc/passwd")
			os.Remove(p)
			return unix.Mkfifo(p, 0o644)
		}, "fifo", "/etc/passwd"},
		{"file becomes a dir", func(d string) error {
			p := filepath.Join(d, "etc/passwd")
			os.Remove(p)
			return os.Mkdir(p, 0o644)
		}, "directory", "/etc/passwd"},
		{"removed file", func(d string) error { return os.Remove(filepath.Join(d, "etc/passwd")) }, "missing", "/etc/passwd"},
		{"added file", func(d string) error { return os.WriteFile(filepath.Join(d, "etc/extra"), nil, 0o644) }, "not in the layer", "/etc/extra"},
		{"changed xattr", func(d string) error {
			return unix.Lsetxattr(filepath.Join(d, "etc/note"), "user.note", []byte("two"), 0)
		}, "xattr user.note", "/etc/note"},
		{"added xattr", func(d string) error {
			return unix.Lsetxattr(filepath.Join(d, "etc/passwd"), "trusted.evil", []byte("x"), 0)
		}, "xattr trusted.evil added", "/etc/passwd"},
		{"device numbers", func(d string) error {
			p := filepath.Join(d, "dev/null")
			os.Remove(p)
			return unix.Mknod(p, unix.S_IFCHR|0o666, int(unix.Mkdev(8, 0)))
		}, "device 8:0, want 1:3", "/dev/null"},
		{"whiteout removed", func(d string) error { return os.Remove(filepath.Join(d, "gone")) }, "missing", "/gone"},
		{"opaque mark removed", func(d string) error { return unix.Lremovexattr(filepath.Join(d, "opq"), "trusted.overlay.opaque") }, "opaque", "/opq"},
		{"hardlink split", func(d string) error {
			p := filepath.Join(d, "bin/sh2")
			os.Remove(p)
			return os.WriteFile(p, []byte("#!/bin/busybox sh\n"), 0o755)
		}, "hardlink", "/bin/sh2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, id := verifyStore(t)
			if err := tc.damage(s.DiffDir(id)); err != nil {
				t.Fatal(err)
			}
			err := s.Verify(t.Context(), id)
			if !errors.Is(err, layer.ErrCorrupt) {
				t.Fatalf("verify: %v, want %v", err, layer.ErrCorrupt)
			}
			if msg := err.Error(); !strings.Contains(msg, tc.path+":") || !strings.Contains(msg, tc.want) {
				t.Errorf("verify: %q, want %s: ...%s...", msg, tc.path, tc.want)
			}
		})
	}
}

// Several differences are named in one error, with a count of the rest.
func TestVerifyNamesSeveralChanges(t *testing.T) {
	requireRoot(t)
	s, id := verifyStore(t)
	d := s.DiffDir(id)
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		if err := os.WriteFile(filepath.Join(d, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	err := s.Verify(t.Context(), id)
	if !errors.Is(err, layer.ErrCorrupt) {
		t.Fatalf("verify: %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "/a:") || !strings.Contains(msg, "/b:") || !strings.Contains(msg, "2 more") {
		t.Errorf("verify: %q, want the first three and 2 more", msg)
	}
}

func appendTo(path, s string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteString(s)
	return err
}

// A directory the tar only implies, and a file copied up from a lower layer
// for a hardlink, carry the lower layer's attributes; a change to them is
// found as well.
func TestVerifyLowerAttrs(t *testing.T) {
	requireRoot(t)
	for _, tc := range []struct{ path, want string }{
		{"opt", "/opt: mode 0777, want 0700"},
		{"srv", "/srv: mode 0777, want 0750"},
		{"srv/data", "/link: mode 0777, want 0640"}, // the first name of the inode
	} {
		t.Run(tc.path, func(t *testing.T) {
			s := openPutStore(t)
			create := func(parent digest.Digest, data []byte) digest.Digest {
				m, _, err := s.Create(context.Background(), parent, digest.FromBytes(data), func(context.Context) (io.ReadCloser, []layer.Blob, error) {
					return io.NopCloser(bytes.NewReader(data)), nil, nil
				}, layer.CreateOptions{Lower: func(_ context.Context, name string) (*os.File, error) { return s.OpenInChain(parent, name) }})
				if err != nil {
					t.Fatalf("create layer: %v", err)
				}
				return m.ChainID
			}
			base := create("", layertest.Tar(t,
				layertest.Dir("opt/", layertest.Mode(0o700), layertest.Owner(5, 5)),
				layertest.Dir("srv/", layertest.Mode(0o750)),
				layertest.File("srv/data", "data\n", layertest.Mode(0o640), layertest.Owner(7, 7))))
			top := create(base, layertest.Tar(t, layertest.File("opt/new", "new\n"), layertest.Hardlink("link", "srv/data")))
			if err := s.Verify(t.Context(), top); err != nil {
				t.Fatalf("verify: %v", err)
			}
			if err := unix.Chmod(filepath.Join(s.DiffDir(top), tc.path), 0o777); err != nil {
				t.Fatal(err)
			}
			if err := s.Verify(t.Context(), top); !errors.Is(err, layer.ErrCorrupt) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("verify: %v, want %s", err, tc.want)
			}
		})
	}
}
