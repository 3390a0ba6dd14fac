package container_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/container"
	lt "github.com/layerctl/layerctl/pkg/layer/layertest"
	"github.com/layerctl/layerctl/pkg/union"
	"github.com/layerctl/layerctl/pkg/union/uniontest"
	"github.com/layerctl/layerctl/pkg/whiteout"
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
			if got, err := e.cs.Diff(t.Context(), s.ID); err != nil || len(got) != 0 {
				t.Errorf("diff of a new container: %v, %v; want nothing", got, err)
			}
			merged := e.mount(t, s.ID)
			for _, c := range script {
				if err := c.do(merged); err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
			}
			changes, err := e.cs.Diff(t.Context(), s.Name)
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
			if again, err := e.cs.Diff(t.Context(), s.ID); err != nil || !slices.Equal(again, changes) {
				t.Errorf("diff after umount differs: %v, %v", again, err)
			}
			e.checkEmpty(t, "tmp")
		})
	}
}

// diffForms are the stores whose rw layers hold whiteouts in each native
// form: overlay's char device 0/0 and opaque xattr, and aufs's files (aufs
// itself is not needed: the rw dir is written here, never mounted).
var diffForms = []struct {
	driver   string
	features union.Features
}{
	{union.Overlay, union.Features{Overlay: true}},
	{union.AUFS, union.Features{AUFS: true}},
}

// Diff reads a whiteout, an opaque directory and aufs's bookkeeping in the
// store's own form, and lists the same changes for each form.
func TestDiffWhiteoutForms(t *testing.T) {
	uniontest.RequireRoot(t)
	tars := [][]byte{lt.Tar(t,
		lt.File("x", "x\n"), lt.File("keep", "keep\n"),
		lt.Dir("d/"), lt.File("d/old", "old\n"),
		lt.Dir("sub/"), lt.File("sub/y", "y\n"), lt.File("sub/z", "z\n"),
	)}
	// The -init layer's files are never a change, deleted or not.
	want := []string{"D /d", "A /d/new", "C /etc", "C /keep", "C /sub", "D /sub/y", "D /x"}
	for _, form := range diffForms {
		t.Run(form.driver, func(t *testing.T) {
			ls, im := uniontest.OpenStore(t, form.driver)
			cs, err := container.NewStore(ls, im, form.features)
			if err != nil {
				t.Fatal(err)
			}
			e := env{form.driver, ls, im, cs}
			s := e.create(t, e.pull(t, tars), "")
			rw := filepath.Join(cs.Dir(s.ID), "rw")
			conv := ls.Converter()
			inDir := func(dir string, fn func(fd int) error) {
				t.Helper()
				fd, err := unix.Open(filepath.Join(rw, dir), unix.O_DIRECTORY|unix.O_RDONLY, 0)
				if err != nil {
					t.Fatal(err)
				}
				defer unix.Close(fd)
				if err := fn(fd); err != nil {
					t.Fatal(err)
				}
			}
			for _, c := range []change{
				{"change a file", write("keep", "changed\n")},
				{"make dirs", mkdir("d")},
				{"make dirs", mkdir("sub")},
				{"make dirs", mkdir("etc")},
				{"add to the opaque dir", write("d/new", "new\n")},
			} {
				if err := c.do(rw); err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
			}
			inDir(".", func(fd int) error { return conv.Whiteout(fd, "x") })
			inDir("sub", func(fd int) error { return conv.Whiteout(fd, "y") })
			inDir("d", conv.Opaque)
			inDir("etc", func(fd int) error { return conv.Whiteout(fd, "hosts") })
			if conv.Passthrough() {
				// aufs's own names: its link and orphan dirs and its xino file.
				for _, c := range []change{
					{"bookkeeping", mkdir(whiteout.MetaPrefix + "plnk/sub")},
					{"bookkeeping", write(whiteout.MetaPrefix+"plnk/sub/123.456", "kept\n")},
					{"bookkeeping", mkdir(whiteout.MetaPrefix + "orph")},
					{"bookkeeping", write(whiteout.MetaPrefix+"aufs", "")},
				} {
					if err := c.do(rw); err != nil {
						t.Fatalf("%s: %v", c.name, err)
					}
				}
			}
			changes, err := cs.Diff(t.Context(), s.ID)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range changes {
				got = append(got, c.String())
			}
			if !slices.Equal(got, want) {
				t.Errorf("diff\n\tgot  %q\n\twant %q", got, want)
			}
		})
	}
}
