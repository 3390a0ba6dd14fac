package layer_test

// Tests of the differ (WriteDiff) on hand-made diff directories in both
// native whiteout forms.

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/layer"
	"github.com/layerctl/layerctl/pkg/whiteout"
)

// The mtime every hand-made entry gets, so that listings are stable.
var diffEpoch = time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)

// tree builds a diff directory through small steps that fail the test.
type tree struct {
	t   *testing.T
	dir string
}

func newTree(t *testing.T) tree { return tree{t, t.TempDir()} }

func (tr tree) path(name string) string { return filepath.Join(tr.dir, name) }

func (tr tree) mkdir(name string) tree {
	tr.t.Helper()
	if err := os.MkdirAll(tr.path(name), 0o755); err != nil {
		tr.t.Fatal(err)
	}
	return tr
}

func (tr tree) file(name, body string) tree {
	tr.t.Helper()
	tr.mkdir(filepath.Dir(name))
	if err := os.WriteFile(tr.path(name), []byte(body), 0o644); err != nil {
		tr.t.Fatal(err)
	}
	return tr
}

func (tr tree) link(name, target string) tree {
	tr.t.Helper()
	if err := os.Link(tr.path(target), tr.path(name)); err != nil {
		tr.t.Fatal(err)
	}
	return tr
}

func (tr tree) symlink(name, target string) tree {
	tr.t.Helper()
	if err := os.Symlink(target, tr.path(name)); err != nil {
		tr.t.Fatal(err)
	}
	return tr
}

func (tr tree) mknod(name string, mode uint32, major, minor uint32) tree {
	tr.t.Helper()
	if err := unix.Mknod(tr.path(name), mode, int(unix.Mkdev(major, minor))); err != nil {
		tr.t.Fatal(err)
	}
	return tr
}

func (tr tree) xattr(name, key, value string) tree {
	tr.t.Helper()
	if err := unix.Lsetxattr(tr.path(name), key, []byte(value), 0); err != nil {
		if errors.Is(err, unix.ENOTSUP) {
			tr.t.Skipf("the test directory's filesystem has no xattrs: %v", err)
		}
		tr.t.Fatal(err)
	}
	return tr
}

// mtimes sets every entry's mtime to diffEpoch, children first.
func (tr tree) mtimes() tree {
	tr.t.Helper()
	var paths []string
	filepath.Walk(tr.dir, func(p string, _ os.FileInfo, err error) error {
		paths = append(paths, p)
		return err
	})
	ts := unix.NsecToTimespec(diffEpoch.UnixNano())
	for _, p := range slices.Backward(paths) {
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			tr.t.Fatal(err)
		}
	}
	return tr
}

func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: whiteout char devices and trusted.* xattrs")
	}
}

func conv(t testing.TB, f whiteout.Format) whiteout.Converter {
	t.Helper()
	c, err := whiteout.ForFormat(f)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func writeDiff(t testing.TB, dir string, opts layer.DiffOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := layer.WriteDiff(context.Background(), &buf, dir, opts); err != nil {
		t.Fatalf("WriteDiff: %v", err)
	}
	return buf.Bytes()
}

// listing shows each tar entry on one line: kind, name, then what matters
// for the kind (":body" of a file, "->target" of a link, "major/minor" of a
// device) and its xattrs.
func listing(t testing.TB, b []byte) []string {
	t.Helper()
	var out []string
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("read the diff back: %v", err)
		}
		var line string
		switch h.Typeflag {
		case tar.TypeDir:
			line = "dir " + h.Name
		case tar.TypeReg:
			body, _ := io.ReadAll(tr)
			line = "reg " + h.Name
			if len(body) > 0 {
				line += ":" + string(body)
			}
		case tar.TypeLink:
			line = "link " + h.Name + "->" + h.Linkname
		case tar.TypeSymlink:
			line = "sym " + h.Name + "->" + h.Linkname
		case tar.TypeFifo:
			line = "fifo " + h.Name
		case tar.TypeChar, tar.TypeBlock:
			kind := map[byte]string{tar.TypeChar: "chr", tar.TypeBlock: "blk"}[h.Typeflag]
			line = fmt.Sprintf("%s %s %d/%d", kind, h.Name, h.Devmajor, h.Devminor)
		default:
			line = fmt.Sprintf("type%c %s", h.Typeflag, h.Name)
		}
		var xs []string
		for k, v := range h.PAXRecords {
			if name, ok := strings.CutPrefix(k, "SCHILY.xattr."); ok {
				xs = append(xs, name+"="+v)
			}
		}
		sort.Strings(xs)
		for _, x := range xs {
			line += " x:" + x
		}
		out = append(out, line)
	}
}

func TestWriteDiff(t *testing.T) {
	tests := []struct {
		name   string
		root   bool // mknod or trusted.* xattrs
		format whiteout.Format
		build  func(tree)
		opts   layer.DiffOptions
		want   []string
	}{{
		name: "overlay whiteout char device becomes .wh.NAME", root: true, format: whiteout.FormatOverlay,
		build: func(tr tree) { tr.mkdir("d").mknod("d/gone", unix.S_IFCHR, 0, 0).mknod("top", unix.S_IFCHR, 0, 0) },
		want:  []string{"dir d/", "reg d/.wh.gone", "reg .wh.top"},
	}, {
		// Only 0/0 is a whiteout; any other char device is a device.
		name: "overlay real char device stays", root: true, format: whiteout.FormatOverlay,
		build: func(tr tree) { tr.mknod("null", unix.S_IFCHR|0o666, 1, 3) },
		want:  []string{"chr null 1/3"},
	}, {
		name: "overlay opaque dir gets its marker right after it", root: true, format: whiteout.FormatOverlay,
		build: func(tr tree) {
			tr.file("d/new", "n").xattr("d", "trusted.overlay.opaque", "y")
			tr.file("e/kept", "k").xattr("e", "trusted.overlay.opaque", "n")
		},
		want: []string{"dir d/", "reg d/.wh..wh..opq", "reg d/new:n", "dir e/", "reg e/kept:k"},
	}, {
		name: "overlay's own xattrs never reach the tar", root: true, format: whiteout.FormatOverlay,
		build: func(tr tree) {
			tr.file("f", "x").xattr("f", "trusted.overlay.origin", "o").xattr("f", "user.keep", "1").xattr("f", "user.also", "2")
		},
		want: []string{"reg f:x x:user.also=2 x:user.keep=1"},
	}, {
		// Under userxattr the marks are user.overlay.*: other user.* stay.
		name: "overlay-userxattr opaque and own xattrs", format: whiteout.FormatOverlayUser,
		build: func(tr tree) {
			tr.file("d/new", "n").xattr("d", "user.overlay.opaque", "y").xattr("d/new", "user.overlay.impure", "y").xattr("d/new", "user.mine", "m")
		},
		want: []string{"dir d/", "reg d/.wh..wh..opq", "reg d/new:n x:user.mine=m"},
	}, {
		// Whiteouts sort by the name they delete, as overlay's devices do:
		// the same changes give the same tar in either form.
		name: "files format writes whiteouts as overlay's and skips aufs bookkeeping", format: whiteout.FormatFiles,
		build: func(tr tree) {
			tr.file(".wh.gone", "").file("d/.wh..wh..opq", "").file("d/new", "n")
			tr.file(".wh..wh.plnk/123.456", "pseudo link").file(".wh..wh.aufs", "").mkdir(".wh..wh.orph")
		},
		want: []string{"dir d/", "reg d/.wh..wh..opq", "reg d/new:n", "reg .wh.gone"},
	}, {
		// A name beside its own whiteout hides the lower copy: a directory
		// so is opaque.
		name: "files format name beside its whiteout", format: whiteout.FormatFiles,
		build: func(tr tree) { tr.file("d/new", "n").file(".wh.d", "").file("f", "x").file(".wh.f", "") },
		want:  []string{"dir d/", "reg d/.wh..wh..opq", "reg d/new:n", "reg f:x"},
	}, {
		// aufs and vfs keep whiteouts as plain files: a 0/0 device is a device.
		name: "files format char device 0/0 is no whiteout", root: true, format: whiteout.FormatFiles,
		build: func(tr tree) { tr.mknod("c", unix.S_IFCHR, 0, 0) },
		want:  []string{"chr c 0/0"},
	}, {
		name: "hardlinks point at the first name in walk order", format: whiteout.FormatOverlay,
		build: func(tr tree) {
			tr.file("m", "same").mkdir("a").link("a/second", "m").link("z", "m").file("single", "s")
		},
		want: []string{"dir a/", "reg a/second:same", "link m->a/second", "reg single:s", "link z->a/second"},
	}, {
		name: "symlink fifo and block device", root: true, format: whiteout.FormatOverlay,
		build: func(tr tree) {
			tr.symlink("s", "../t").mknod("p", unix.S_IFIFO|0o600, 0, 0).mknod("b", unix.S_IFBLK|0o600, 7, 1)
		},
		want: []string{"blk b 7/1", "fifo p", "sym s->../t"},
	}, {
		name: "Exclude leaves out the -init layer's paths", format: whiteout.FormatOverlay,
		build: func(tr tree) {
			tr.file("etc/hosts", "h").file("etc/hostname", "n").file("etc/resolv.conf", "r").symlink("etc/mtab", "/proc/mounts")
			tr.file("etc/hosts.allow", "a").file("etc/passwd", "p").file("proc/1/x", "").file("sys/x", "").file("dev/pts/0", "")
			tr.file("devices", "d").file("home/etc/hosts", "nested")
		},
		opts: layer.DiffOptions{Exclude: excludeInitLike},
		want: []string{"reg devices:d", "dir etc/", "reg etc/hosts.allow:a", "reg etc/passwd:p", "dir home/", "dir home/etc/", "reg home/etc/hosts:nested"},
	}, {
		name: "Exclude leaves out whiteouts of the -init layer's paths", root: true, format: whiteout.FormatOverlay,
		build: func(tr tree) {
			tr.mkdir("etc").mknod("etc/hosts", unix.S_IFCHR, 0, 0).mknod("etc/passwd", unix.S_IFCHR, 0, 0).mknod("dev", unix.S_IFCHR, 0, 0)
		},
		opts: layer.DiffOptions{Exclude: excludeInitLike},
		want: []string{"dir etc/", "reg etc/.wh.passwd"},
	}, {
		name: "Exclude leaves out .wh. files of the -init layer's paths", format: whiteout.FormatFiles,
		build: func(tr tree) {
			tr.file("etc/.wh.hosts", "").file("etc/.wh.resolv.conf", "").file("etc/.wh.passwd", "").file(".wh.proc", "")
		},
		opts: layer.DiffOptions{Exclude: excludeInitLike},
		want: []string{"dir etc/", "reg etc/.wh.passwd"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.root {
				requireRoot(t)
			}
			tr := newTree(t)
			tc.build(tr)
			tc.opts.Converter = conv(t, tc.format)
			got := listing(t, writeDiff(t, tr.dir, tc.opts))
			if !slices.Equal(got, tc.want) {
				t.Errorf("entries:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

// TestWriteDiffHeaders checks what the listing leaves out: modes with the
// special bits, owners, sizes, the PAX format and hardlink sizes.
func TestWriteDiffHeaders(t *testing.T) {
	requireRoot(t)
	tr := newTree(t).file("suid", "0123456789").mkdir("sticky").file("owned", "o")
	must(t, unix.Chmod(tr.path("suid"), 0o4755)) // os.Chmod wants os.ModeSetuid
	must(t, unix.Chmod(tr.path("sticky"), 0o1777))
	must(t, os.Chmod(tr.path("owned"), 0o644)) // whatever the umask
	must(t, os.Lchown(tr.path("owned"), 1000, 2000))
	tr.link("owned.link", "owned")
	hdrs := headers(t, writeDiff(t, tr.dir, layer.DiffOptions{Converter: conv(t, whiteout.FormatOverlay)}))
	for _, c := range []struct {
		name       string
		mode       int64
		uid, gid   int
		size       int64
		typeflag   byte
		linkTarget string
	}{
		{"owned", 0o644, 1000, 2000, 1, tar.TypeReg, ""},
		{"owned.link", 0o644, 1000, 2000, 0, tar.TypeLink, "owned"},
		{"sticky/", 0o1777, 0, 0, 0, tar.TypeDir, ""},
		{"suid", 0o4755, 0, 0, 10, tar.TypeReg, ""},
	} {
		h, ok := hdrs[c.name]
		if !ok {
			t.Errorf("%s: no entry", c.name)
			continue
		}
		if h.Mode != c.mode || h.Uid != c.uid || h.Gid != c.gid || h.Size != c.size || h.Typeflag != c.typeflag || h.Linkname != c.linkTarget {
			t.Errorf("%s: mode %o uid %d gid %d size %d type %c link %q; want %o %d %d %d %c %q",
				c.name, h.Mode, h.Uid, h.Gid, h.Size, h.Typeflag, h.Linkname, c.mode, c.uid, c.gid, c.size, c.typeflag, c.linkTarget)
		}
		if h.Format != tar.FormatPAX {
			t.Errorf("%s: format %v, want PAX", c.name, h.Format)
		}
		if h.Uname != "" || h.Gname != "" {
			t.Errorf("%s: owner names %q/%q: they depend on the host's passwd", c.name, h.Uname, h.Gname)
		}
	}
}

func TestWriteDiffClamp(t *testing.T) {
	requireRoot(t)
	clamp := time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)
	old := time.Date(2019, 5, 5, 5, 5, 5, 500, time.UTC)
	late := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tr := newTree(t).file("old", "o").file("late", "l").mkdir("dir").xattr("dir", "trusted.overlay.opaque", "y").mknod("gone", unix.S_IFCHR, 0, 0)
	for name, when := range map[string]time.Time{"old": old, "late": late, "dir": late, "gone": late} {
		ts := unix.NsecToTimespec(when.UnixNano())
		must(t, unix.UtimesNanoAt(unix.AT_FDCWD, tr.path(name), []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW))
	}
	for _, tc := range []struct {
		name  string
		clamp time.Time
		want  map[string]time.Time
	}{
		{"clamped", clamp, map[string]time.Time{"old": old, "late": clamp, "dir/": clamp, "dir/.wh..wh..opq": clamp, ".wh.gone": clamp}},
		{"not clamped", time.Time{}, map[string]time.Time{"old": old, "late": late, "dir/": late, "dir/.wh..wh..opq": late, ".wh.gone": late}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdrs := headers(t, writeDiff(t, tr.dir, layer.DiffOptions{Converter: conv(t, whiteout.FormatOverlay), Clamp: tc.clamp}))
			for name, want := range tc.want {
				if h, ok := hdrs[name]; !ok {
					t.Errorf("%s: no entry", name)
				} else if !h.ModTime.Equal(want) {
					t.Errorf("%s: mtime %v, want %v", name, h.ModTime.UTC(), want)
				}
			}
		})
	}
}

// TestWriteDiffDeterministic writes trees with the same content but other
// inodes, creation order and times: with a clamp (as a commit with
// SOURCE_DATE_EPOCH does) they give the same bytes.
func TestWriteDiffDeterministic(t *testing.T) {
	requireRoot(t)
	build := func(reverse bool) string {
		tr := newTree(t)
		steps := []func(){
			func() { tr.file("b/two", "2").xattr("b/two", "user.z", "last").xattr("b/two", "user.a", "first") },
			func() { tr.file("a/one", "1").link("a/one.link", "a/one") },
			func() { tr.symlink("s", "a/one").mknod("p", unix.S_IFIFO|0o644, 0, 0) },
			func() {
				tr.mkdir("c").mknod("c/gone", unix.S_IFCHR, 0, 0).mkdir("o").xattr("o", "trusted.overlay.opaque", "y")
			},
		}
		if reverse {
			slices.Reverse(steps)
		}
		for _, s := range steps {
			s()
		}
		return tr.dir
	}
	clamp := layer.DiffOptions{Converter: conv(t, whiteout.FormatOverlay), Clamp: diffEpoch}
	first := build(false)
	a := writeDiff(t, first, clamp)
	if b := writeDiff(t, first, clamp); !bytes.Equal(a, b) {
		t.Errorf("the same directory written twice gave other bytes")
	}
	time.Sleep(10 * time.Millisecond) // other mtimes, all after the clamp
	if b := writeDiff(t, build(true), clamp); !bytes.Equal(a, b) {
		t.Errorf("an equal tree built in another order gave other bytes:\n%s\nvs\n%s",
			strings.Join(listing(t, a), "\n"), strings.Join(listing(t, b), "\n"))
	}
	// A trailing slash names the same directory.
	if b := writeDiff(t, first+"/", clamp); !bytes.Equal(a, b) {
		t.Errorf("%s/ gave other bytes than %s:\n%s", first, first, strings.Join(listing(t, b), "\n"))
	}
}

// TestWriteDiffApplyRoundTrip: what the differ writes, the applier stores as
// the same directory, which the differ writes as the same bytes.
func TestWriteDiffApplyRoundTrip(t *testing.T) {
	requireRoot(t)
	c := conv(t, whiteout.FormatOverlay)
	tr := newTree(t).file("etc/conf", "c").xattr("etc/conf", "user.k", "v").link("conf.hard", "etc/conf")
	tr.symlink("s", "etc/conf").mknod("fifo", unix.S_IFIFO|0o640, 0, 0).mknod("gone", unix.S_IFCHR, 0, 0)
	tr.file("o/new", "n").xattr("o", "trusted.overlay.opaque", "y").mtimes()
	first := writeDiff(t, tr.dir, layer.DiffOptions{Converter: c})
	out := t.TempDir()
	res, err := layer.Apply(t.Context(), out, bytes.NewReader(first), layer.ApplyOptions{Converter: c})
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if want := digest.FromBytes(first); res.DiffID != want {
		t.Errorf("applied diffID %s, want %s", res.DiffID, want)
	}
	// The applier gives a whiteout device its own time (a whiteout's mtime
	// means nothing), so the second write is clamped to the first's times.
	if second := writeDiff(t, out, layer.DiffOptions{Converter: c, Clamp: diffEpoch}); !bytes.Equal(first, second) {
		t.Errorf("differ → applier → differ changed the tar:\n%s\nvs\n%s",
			strings.Join(listing(t, first), "\n"), strings.Join(listing(t, second), "\n"))
	}
}

func TestWriteDiffErrors(t *testing.T) {
	dir := newTree(t).file("f", "x").dir
	if err := layer.WriteDiff(context.Background(), io.Discard, dir, layer.DiffOptions{}); err == nil {
		t.Error("WriteDiff without a converter: no error")
	}
	if err := layer.WriteDiff(context.Background(), io.Discard, filepath.Join(dir, "missing"), layer.DiffOptions{Converter: conv(t, whiteout.FormatOverlay)}); err == nil {
		t.Error("WriteDiff of a missing directory: no error")
	}
	// A writer that fails (a closed pipe, a full disk) fails the diff.
	if err := layer.WriteDiff(context.Background(), failWriter{}, dir, layer.DiffOptions{Converter: conv(t, whiteout.FormatOverlay)}); err == nil {
		t.Error("WriteDiff into a failing writer: no error")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// --- Store.Put ---

func headers(t testing.TB, b []byte) map[string]*tar.Header {
	t.Helper()
	out := map[string]*tar.Header{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = h
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// excludeInitLike leaves out what a container's -init layer owns, as the
// container store asks a commit to.
func excludeInitLike(rel string) bool {
	for _, p := range []string{"etc/hosts", "etc/hostname", "etc/resolv.conf", "etc/mtab", "proc", "sys", "dev"} {
		if rel == p || strings.HasPrefix(rel, p+"/") {
			return true
		}
	}
	return false
}
