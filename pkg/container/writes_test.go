package container_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/union"
	"github.com/layerctl/layerctl/pkg/union/uniontest"
)

// change is one write through a container's rootfs.
type change struct {
	name string
	do   func(root string) error
}

func write(p, content string) func(string) error {
	return func(root string) error { return os.WriteFile(filepath.Join(root, p), []byte(content), 0o644) }
}

func remove(p string) func(string) error {
	return func(root string) error { return os.RemoveAll(filepath.Join(root, p)) }
}

func rename(from, to string) func(string) error {
	return func(root string) error { return os.Rename(filepath.Join(root, from), filepath.Join(root, to)) }
}

func mkdir(p string) func(string) error {
	return func(root string) error { return os.MkdirAll(filepath.Join(root, p), 0o755) }
}

// writes touch every kind of lower entry: image files, a hardlinked one, the
// -init layer's, attributes only, whole directories.
var writes = []change{
	{"overwrite an image file", write("data/keep", "changed\n")},
	{"truncate a hardlinked file", func(r string) error { return os.Truncate(filepath.Join(r, "hard/a"), 0) }},
	{"write an init-layer file", write("etc/hosts", "10.9.9.9 other\n")},
	{"add a file", write("data/added", "added\n")},
	{"delete a file", remove("data/owned")},
	{"delete a directory tree", remove("opq")},
	{"rename a file", rename("etc/group", "etc/group.old")},
	{"make and rename a directory", func(r string) error {
		if err := mkdir("new/sub")(r); err != nil {
			return err
		}
		return rename("new", "renamed")(r)
	}},
	{"chmod", func(r string) error { return os.Chmod(filepath.Join(r, "bin/su"), 0o700) }},
	{"chown", func(r string) error { return os.Lchown(filepath.Join(r, "data/gone"), 5, 6) }},
	{"set an xattr", func(r string) error {
		return unix.Lsetxattr(filepath.Join(r, "etc/shadow"), "user.new", []byte("v"), 0)
	}},
	{"symlink", func(r string) error { return os.Symlink("/nowhere", filepath.Join(r, "data/link")) }},
	{"write below a mountpoint", write("dev/shm/x", "shm\n")},
}

// Writes, deletes and renames through the rootfs land in the rw layer: the
// image's diff dirs and the -init layer stay as they were, byte for byte,
// and the rootfs shows the changes.
func TestWritesLandInRWLayer(t *testing.T) {
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			requireDriver(t, driver)
			e := newEnv(t, driver)
			s := e.create(t, e.pull(t, uniontest.Shapes()[0].Tars(t)), "")
			before := e.lowerSnapshot(t, s)
			rw := filepath.Join(e.cs.Dir(s.ID), "rw")
			merged := e.mount(t, s.ID)
			for _, c := range writes {
				if err := c.do(merged); err != nil {
					t.Errorf("%s: %v", c.name, err)
				}
			}
			// What overlay cannot rename keeps the upper dir a plain diff:
			// with redirect_dir=off a lower directory's rename fails with
			// EXDEV, and tools fall back to copying.
			err := os.Rename(filepath.Join(merged, "sticky"), filepath.Join(merged, "sticky2"))
			if driver == union.Overlay && !errors.Is(err, unix.EXDEV) {
				t.Errorf("rename of an image directory: err = %v, want EXDEV", err)
			}
			e.umount(t, s.ID)
			checkSnapshot(t, before, e.lowerSnapshot(t, s))

			// The rw dir holds the changes, in the driver's own form.
			if got := readFile(t, filepath.Join(rw, "data/keep")); got != "changed\n" {
				t.Errorf("rw data/keep = %q", got)
			}
			if got := readFile(t, filepath.Join(rw, "etc/hosts")); got != "10.9.9.9 other\n" {
				t.Errorf("rw etc/hosts = %q", got)
			}
			for _, p := range []string{"data/added", "etc/group.old", "renamed/sub", "dev/shm/x", "data/link"} {
				if _, err := os.Lstat(filepath.Join(rw, p)); err != nil {
					t.Errorf("rw: %v", err)
				}
			}
			gone := []string{"etc/group", "data/owned", "opq"}
			for _, p := range gone {
				var st unix.Stat_t
				err := unix.Lstat(filepath.Join(rw, p), &st)
				switch driver {
				case union.Overlay: // a whiteout: char device 0/0
					if err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
						t.Errorf("rw %s: no whiteout (%v, mode %o)", p, err, st.Mode)
					}
				default: // the rw dir is the rootfs: the entry is gone
					if !errors.Is(err, unix.ENOENT) {
						t.Errorf("rw %s: %v, want it gone", p, err)
					}
				}
			}

			// Mounted again, the rootfs shows the same.
			merged = e.mount(t, s.ID)
			// hard/b was one file with hard/a. The vfs copy keeps the link;
			// overlay copies hard/a up alone, so hard/b still reads the layer.
			wantB := map[string]string{union.Overlay: "shared\n", union.VFS: ""}[driver]
			if got, err := os.ReadFile(filepath.Join(merged, "hard/b")); err != nil || string(got) != wantB {
				t.Errorf("hard/b = %q, %v; want %q", got, err, wantB)
			}
			if fi, err := os.Stat(filepath.Join(merged, "bin/su")); err != nil || fi.Mode().Perm() != 0o700 {
				t.Errorf("bin/su: %v %v", fi, err)
			}
			for _, p := range gone {
				if _, err := os.Lstat(filepath.Join(merged, p)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s still in the rootfs (%v)", p, err)
				}
			}
			e.umount(t, s.ID)
		})
	}
}
