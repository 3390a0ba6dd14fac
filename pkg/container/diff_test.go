package container_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/union"
	"github.com/layerctl/layerctl/pkg/union/uniontest"
)

// script is a set of changes made through a container's rootfs, on the
// "whiteouts" image.
var script = []change{
	{"add a file", write("newfile", "new\n")},
	{"change an image file", write("etc/shadow", "root:!:1::::::\n")},
	{"change an init-layer file", write("etc/hosts", "10.9.9.9 other\n")},
	{"delete a file", remove("data/gone")},
	{"delete a fifo", remove("fifo")},
	{"delete a directory", remove("re")},
	{"rename a file", rename("data/owned", "data/renamed")},
	{"add a tree", func(r string) error {
		if err := mkdir("newdir/sub")(r); err != nil {
			return err
		}
		return write("newdir/sub/f", "f\n")(r)
	}},
	{"replace a directory", func(r string) error {
		if err := remove("opq")(r); err != nil {
			return err
		}
		if err := mkdir("opq")(r); err != nil {
			return err
		}
		return write("opq/fresh", "fresh\n")(r)
	}},
	{"chmod", func(r string) error { return os.Chmod(filepath.Join(r, "bin/su"), 0o700) }},
	{"change an xattr's value", func(r string) error {
		return unix.Lsetxattr(filepath.Join(r, "data/keep"), "user.color", []byte("grn"), 0)
	}},
	{"add a symlink", func(r string) error { return os.Symlink("keep", filepath.Join(r, "data/link")) }},
}

// Both drivers list the same changes, except for a directory that was
// deleted and made again: overlay has it as an opaque directory ("D", then
// its new children), the vfs copy as a changed directory whose old children
// are gone. The -init layer's files are never a change, as in a commit.
var (
	commonDiff = []string{
		"C /bin", "C /bin/su",
		"C /data", "D /data/gone", "C /data/keep", "A /data/link", "D /data/owned", "A /data/renamed",
		"C /etc", "C /etc/shadow",
		"D /fifo",
		"A /newdir", "A /newdir/sub", "A /newdir/sub/f",
		"A /newfile",
		"D /re",
	}
	driverDiff = map[string][]string{
		union.Overlay: {"D /opq", "A /opq/fresh"},
		union.VFS:     {"C /opq", "A /opq/fresh", "D /opq/new1", "D /opq/newdir"},
	}
)

func TestDiff(t *testing.T) {
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			requireDriver(t, driver)
			e := newEnv(t, driver)
			s := e.create(t, e.pull(t, uniontest.Shapes()[0].Tars(t)), "")
			if got, err := e.cs.Diff(s.ID); err != nil || len(got) != 0 {
				t.Errorf("diff of a new container: %v, %v; want nothing", got, err)
			}
			merged := e.mount(t, s.ID)
			for _, c := range script {
				if err := c.do(merged); err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
			}
			changes, err := e.cs.Diff(s.Name)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range changes {
				got = append(got, c.String())
			}
			want := slices.Concat(commonDiff, driverDiff[driver])
			slices.SortFunc(want, func(a, b string) int { return strings.Compare(a[2:], b[2:]) })
			if !slices.Equal(got, want) {
				t.Errorf("diff\n\tgot  %q\n\twant %q", got, want)
			}
			e.umount(t, s.ID)
			// Diff reads the rw layer, mounted or not.
			if again, err := e.cs.Diff(s.ID); err != nil || !slices.Equal(again, changes) {
				t.Errorf("diff after umount differs: %v, %v", again, err)
			}
			e.checkEmpty(t, "tmp")
		})
	}
}
