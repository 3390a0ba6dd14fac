package layer

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	lt "github.com/layerctl/layerctl/pkg/layer/layertest"
	"github.com/layerctl/layerctl/pkg/whiteout"
)

// applyEnv lays out base/{lower/, p/{root/, sentinel/, outside/secret}}: Apply
// writes into root, and an escape shows up as a change anywhere else.
type applyEnv struct {
	base, lower, parent, root, sentinel, outside string
	before                                       map[string]unix.Stat_t // what must not change
}

func newApplyEnv(t testing.TB) *applyEnv {
	t.Helper()
	b := t.TempDir()
	e := &applyEnv{base: b, lower: b + "/lower", parent: b + "/p", root: b + "/p/root", sentinel: b + "/p/sentinel", outside: b + "/p/outside"}
	for _, d := range []string{e.lower, e.parent, e.root, e.sentinel, e.outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(e.outside+"/secret", []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.before = map[string]unix.Stat_t{}
	for _, p := range []string{e.base, e.parent, e.sentinel, e.outside, e.outside + "/secret"} {
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			t.Fatal(err)
		}
		e.before[p] = st
	}
	return e
}

func dirNames(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// checkContained fails unless everything outside root is as newApplyEnv left
// it: the same names, and no mode, owner, link, xattr or content changed
// through a symlink (any of which moves a ctime).
func (e *applyEnv) checkContained(t testing.TB) {
	t.Helper()
	for dir, want := range map[string][]string{
		e.base: {"lower", "p"}, e.parent: {"outside", "root", "sentinel"}, e.sentinel: nil, e.outside: {"secret"},
	} {
		if got := dirNames(t, dir); !slices.Equal(got, want) {
			t.Errorf("%s holds %q, want %q", dir, got, want)
		}
	}
	for p, was := range e.before {
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			t.Fatal(err)
		}
		same := st.Mode == was.Mode && st.Uid == was.Uid && st.Gid == was.Gid && st.Nlink == was.Nlink
		// base and p see the diff dir made afresh (FuzzApply); the rest stay still.
		if p != e.base && p != e.parent {
			same = same && st.Ctim == was.Ctim && st.Mtim == was.Mtim
		}
		if n, _ := unix.Llistxattr(p, nil); !same || n > 0 {
			t.Errorf("%s changed: mode %o owner %d:%d nlink %d, %d bytes of xattr names", p, st.Mode, st.Uid, st.Gid, st.Nlink, n)
		}
	}
}

func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: extracting layers does mknod, chown and sets trusted.* xattrs")
	}
}

func converter(t testing.TB, f whiteout.Format) whiteout.Converter {
	t.Helper()
	c, err := whiteout.ForFormat(f)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// lowerIn serves hardlink targets from one directory standing for the lower
// layers, as O_PATH handles like Store.OpenInChain.
func lowerIn(dir string) LowerFunc {
	return func(_ context.Context, name string) (*os.File, error) {
		root, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, err
		}
		defer unix.Close(root)
		fd, err := unix.Openat2(root, name, &unix.OpenHow{Flags: unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_SYMLINKS})
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: name, Err: err}
		}
		return os.NewFile(uintptr(fd), name), nil
	}
}

var bothFormats = []whiteout.Format{whiteout.FormatOverlay, whiteout.FormatFiles}

func lstat(t *testing.T, path string) unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatalf("lstat: %v", err)
	}
	return st
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// attrs checks type, permission bits and owner of path.
func attrs(t *testing.T, path string, typ, perm uint32, uid, gid int) unix.Stat_t {
	t.Helper()
	st := lstat(t, path)
	eq(t, path+" type", st.Mode&unix.S_IFMT, typ)
	eq(t, path+" perm", st.Mode&0o7777, perm)
	eq(t, path+" owner", [2]int{int(st.Uid), int(st.Gid)}, [2]int{uid, gid})
	return st
}

func mtime(t *testing.T, path string, want time.Time) {
	t.Helper()
	st := lstat(t, path)
	eq(t, path+" mtime", time.Unix(st.Mtim.Unix()).UTC(), want.UTC())
}

func content(t *testing.T, path, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, path+" content", string(b), want)
}

func absent(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s exists (%v), want it absent", path, err)
	}
}

// xattr reads an xattr; ok is false when it is not set.
func xattr(t *testing.T, path, name string) (value string, ok bool) {
	buf := make([]byte, 256)
	n, err := unix.Lgetxattr(path, name, buf)
	return string(buf[:max(n, 0)]), err == nil
}

var (
	t1 = time.Date(2021, 5, 6, 7, 8, 9, 123456789, time.UTC) // sub-second: PAX
	t2 = time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)
)

type L = lt.Entry

func globalHeader(name string) L {
	return lt.Raw(tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: name, PAXRecords: map[string]string{"comment": "x"}}, nil)
}

var (
	longBase = strings.Repeat("n", 150)                                                         // >100, no ustar split
	longPath = strings.Repeat("a", 200) + "/" + strings.Repeat("b", 200) + "/" + longBase[:120] // >255
)

// goodCases are well-formed layers; check gets the diff dir and the format.
var goodCases = []struct {
	name    string
	formats []whiteout.Format // nil: bothFormats
	entries []L
	check   func(t *testing.T, d string, f whiteout.Format)
}{
	{"regular file", nil, []L{lt.File("f", "hello", lt.Mode(0o640), lt.Owner(1000, 1001), lt.MTime(t1))}, func(t *testing.T, d string, _ whiteout.Format) {
		attrs(t, d+"/f", unix.S_IFREG, 0o640, 1000, 1001)
		mtime(t, d+"/f", t1)
		content(t, d+"/f", "hello")
	}},
	{"dir times restored after children", nil, []L{
		lt.Dir("a/", lt.Mode(0o750), lt.Owner(3, 4), lt.MTime(t1)), lt.Dir("a/b/", lt.MTime(t2)), lt.File("a/b/c", "x"), lt.File("a/d", "y"),
	}, func(t *testing.T, d string, _ whiteout.Format) {
		attrs(t, d+"/a", unix.S_IFDIR, 0o750, 3, 4)
		mtime(t, d+"/a", t1)
		mtime(t, d+"/a/b", t2)
		content(t, d+"/a/b/c", "x")
	}},
	{"symlink owner and lutimes", nil, []L{lt.Symlink("l", "/does/not/exist", lt.Owner(5, 6), lt.MTime(t1))}, func(t *testing.T, d string, _ whiteout.Format) {
		attrs(t, d+"/l", unix.S_IFLNK, 0o777, 5, 6)
		mtime(t, d+"/l", t1)
		target, _ := os.Readlink(d + "/l")
		eq(t, "link target", target, "/does/not/exist")
	}},
	{"hardlinks within the layer", nil, []L{lt.File("a", "data"), lt.Dir("d/"), lt.Hardlink("d/b", "a"), lt.Hardlink("c", "./a")}, func(t *testing.T, d string, _ whiteout.Format) {
		a := lstat(t, d+"/a")
		eq(t, "nlink", a.Nlink, 3)
		eq(t, "d/b inode", lstat(t, d+"/d/b").Ino, a.Ino)
		eq(t, "c inode", lstat(t, d+"/c").Ino, a.Ino)
	}},
	{"devices and fifo", nil, []L{
		lt.Char("dev/null", 1, 3, lt.Mode(0o666), lt.Owner(0, 5)),
		lt.Block("dev/loop9", 7, 9, lt.Mode(0o660), lt.Owner(0, 6)),
		lt.Fifo("run/p", lt.Mode(0o620), lt.Owner(7, 8), lt.MTime(t1)),
	}, func(t *testing.T, d string, _ whiteout.Format) {
		eq(t, "char rdev", attrs(t, d+"/dev/null", unix.S_IFCHR, 0o666, 0, 5).Rdev, unix.Mkdev(1, 3))
		eq(t, "block rdev", attrs(t, d+"/dev/loop9", unix.S_IFBLK, 0o660, 0, 6).Rdev, unix.Mkdev(7, 9))
		attrs(t, d+"/run/p", unix.S_IFIFO, 0o620, 7, 8)
		mtime(t, d+"/run/p", t1)
		attrs(t, d+"/run", unix.S_IFDIR, 0o755, 0, 0) // implicit parent
	}},
	{"pax long names", nil, []L{
		lt.File(longBase, "1"), lt.File(longPath, "2"), lt.Symlink("s", longPath), lt.Hardlink(longBase+"-h", longPath),
	}, func(t *testing.T, d string, _ whiteout.Format) {
		content(t, d+"/"+longBase, "1")
		content(t, d+"/"+longPath, "2")
		content(t, d+"/"+longBase+"-h", "2")
		target, _ := os.Readlink(d + "/s")
		eq(t, "long link target", target, longPath)
	}},
	{"gnu long names", nil, []L{
		lt.File(longBase, "g", lt.Format(tar.FormatGNU)), lt.Hardlink("h"+longBase, longBase, lt.Format(tar.FormatGNU)),
	}, func(t *testing.T, d string, _ whiteout.Format) {
		content(t, d+"/h"+longBase, "g")
	}},
	{"xattrs", nil, []L{
		lt.File("f", "", lt.Xattr("user.a", "1")), lt.Dir("d/", lt.Xattr("user.b", "2"), lt.Xattr("trusted.layerctl.t", "3")),
	}, func(t *testing.T, d string, _ whiteout.Format) {
		for _, c := range [][3]string{{"f", "user.a", "1"}, {"d", "user.b", "2"}, {"d", "trusted.layerctl.t", "3"}} {
			v, _ := xattr(t, d+"/"+c[0], c[1])
			eq(t, c[0]+" "+c[1], v, c[2])
		}
	}},
	// A tar must not forge overlayfs's own marks; other xattrs still land.
	{"overlay xattrs from the tar dropped", []whiteout.Format{whiteout.FormatOverlay}, []L{
		lt.Dir("d/", lt.Xattr("trusted.overlay.opaque", "y"), lt.Xattr("trusted.overlay.redirect", "/x"), lt.Xattr("user.keep", "1")),
		lt.File("f", "", lt.Xattr("trusted.overlay.metacopy", "")),
	}, func(t *testing.T, d string, _ whiteout.Format) {
		for _, c := range [][2]string{{"d", "trusted.overlay.opaque"}, {"d", "trusted.overlay.redirect"}, {"f", "trusted.overlay.metacopy"}} {
			if _, ok := xattr(t, d+"/"+c[0], c[1]); ok {
				t.Errorf("%s carries %s from the tar", c[0], c[1])
			}
		}
		if _, ok := xattr(t, d+"/d", "user.keep"); !ok {
			t.Error("user.keep dropped")
		}
	}},
	{"userxattr overlay xattrs from the tar dropped", []whiteout.Format{whiteout.FormatOverlayUser}, []L{
		lt.Dir("d/", lt.Xattr("user.overlay.opaque", "y"), lt.Xattr("user.keep", "1")),
	}, func(t *testing.T, d string, _ whiteout.Format) {
		if _, ok := xattr(t, d+"/d", "user.overlay.opaque"); ok {
			t.Error("user.overlay.opaque from the tar was set")
		}
	}},
	// chown clears setuid/setgid, so these survive only if chmod comes after.
	{"setuid setgid sticky", nil, []L{
		lt.File("suid", "", lt.Mode(0o4755), lt.Owner(1000, 1000)), lt.File("sgid", "", lt.Mode(0o2711), lt.Owner(1000, 1000)),
		lt.Dir("sticky/", lt.Mode(0o1777)), lt.Dir("sgiddir/", lt.Mode(0o2775), lt.Owner(0, 1000)), lt.File("sgiddir/f", "", lt.Owner(1, 1)),
		lt.Char("sdev", 1, 3, lt.Mode(0o4644), lt.Owner(9, 9)),
	}, func(t *testing.T, d string, _ whiteout.Format) {
		attrs(t, d+"/suid", unix.S_IFREG, 0o4755, 1000, 1000)
		attrs(t, d+"/sgid", unix.S_IFREG, 0o2711, 1000, 1000)
		attrs(t, d+"/sticky", unix.S_IFDIR, 0o1777, 0, 0)
		attrs(t, d+"/sgiddir", unix.S_IFDIR, 0o2775, 0, 1000)
		attrs(t, d+"/sgiddir/f", unix.S_IFREG, 0o644, 1, 1)
		attrs(t, d+"/sdev", unix.S_IFCHR, 0o4644, 9, 9)
	}},
	{"root entry", nil, []L{lt.Dir("./", lt.Mode(0o700), lt.Owner(10, 20), lt.MTime(t1)), lt.File("x", "")}, func(t *testing.T, d string, _ whiteout.Format) {
		attrs(t, d, unix.S_IFDIR, 0o700, 10, 20)
		mtime(t, d, t1)
	}},
	{"root entry last, without slash", nil, []L{lt.File("x", ""), lt.Dir(".", lt.Mode(0o711), lt.Owner(1, 2), lt.MTime(t2))}, func(t *testing.T, d string, _ whiteout.Format) {
		attrs(t, d, unix.S_IFDIR, 0o711, 1, 2)
		mtime(t, d, t2)
	}},
	{"later entries replace earlier ones", nil, []L{
		lt.Dir("d/"), lt.File("d/x", "1"), lt.File("d", "file now"),
		lt.Dir("e/"), lt.Dir("e/sub/"), lt.Symlink("e", "d"),
		lt.File("f", "1"), lt.Dir("f/"), lt.File("f/y", "2"),
		lt.Symlink("g", "/"), lt.Dir("g/"), lt.File("g/z", "3"),
		lt.File("h", "old"), lt.File("h", "new"),
	}, func(t *testing.T, d string, _ whiteout.Format) {
		content(t, d+"/d", "file now")
		attrs(t, d+"/e", unix.S_IFLNK, 0o777, 0, 0)
		content(t, d+"/f/y", "2")
		attrs(t, d+"/g", unix.S_IFDIR, 0o755, 0, 0)
		content(t, d+"/g/z", "3")
		content(t, d+"/h", "new")
	}},
	{"same dir twice: the later entry wins", nil, []L{
		lt.Dir("d/", lt.Mode(0o700), lt.Owner(1, 1), lt.MTime(t2)), lt.File("d/x", ""), lt.Dir("d/", lt.Mode(0o755), lt.Owner(2, 2), lt.MTime(t1)),
	}, func(t *testing.T, d string, _ whiteout.Format) {
		attrs(t, d+"/d", unix.S_IFDIR, 0o755, 2, 2)
		mtime(t, d+"/d", t1)
	}},
	// A PAX global header carries defaults, not a file: its name means nothing.
	{"pax global header is no entry", nil, []L{
		lt.Dir("etc/"), lt.File("etc/passwd", "root"), globalHeader("etc"), globalHeader("gone/.wh.x"),
	}, func(t *testing.T, d string, _ whiteout.Format) {
		content(t, d+"/etc/passwd", "root")
		absent(t, d+"/gone")
	}},
	{"whiteout", nil, []L{lt.File(".wh.gone", ""), lt.File("d/.wh.x", "")}, func(t *testing.T, d string, f whiteout.Format) {
		if f == whiteout.FormatFiles {
			attrs(t, d+"/.wh.gone", unix.S_IFREG, 0o644, 0, 0)
			attrs(t, d+"/d/.wh.x", unix.S_IFREG, 0o644, 0, 0)
			absent(t, d+"/gone")
			return
		}
		eq(t, "gone rdev", attrs(t, d+"/gone", unix.S_IFCHR, 0, 0, 0).Rdev, 0) // overlay's whiteout: char 0/0
		eq(t, "d/x rdev", attrs(t, d+"/d/x", unix.S_IFCHR, 0, 0, 0).Rdev, 0)
		absent(t, d+"/.wh.gone")
	}},
	{"X then .wh.X keeps X", nil, []L{lt.File("x", "keep"), lt.File(".wh.x", "")}, func(t *testing.T, d string, f whiteout.Format) {
		content(t, d+"/x", "keep")
	}},
	{".wh.X then X keeps X", nil, []L{lt.File(".wh.x", ""), lt.File("x", "keep")}, func(t *testing.T, d string, f whiteout.Format) {
		content(t, d+"/x", "keep")
	}},
	{".wh.X then dir X keeps X", nil, []L{lt.File(".wh.d", ""), lt.Dir("d/"), lt.File("d/y", "1")}, func(t *testing.T, d string, f whiteout.Format) {
		content(t, d+"/d/y", "1")
	}},
	{"implicit dir X then .wh.X keeps X", nil, []L{lt.File("d/y", "1"), lt.File(".wh.d", "")}, func(t *testing.T, d string, f whiteout.Format) {
		content(t, d+"/d/y", "1")
	}},
	{"opaque marker before children", nil, []L{lt.Dir("d/"), lt.File("d/.wh..wh..opq", ""), lt.File("d/a", "1"), lt.Dir("d/s/")}, checkOpaque},
	{"opaque marker after children", nil, []L{lt.Dir("d/"), lt.File("d/a", "1"), lt.Dir("d/s/"), lt.File("d/.wh..wh..opq", "")}, checkOpaque},
	{"opaque marker without dir entry", nil, []L{lt.File("d/a", "1"), lt.Dir("d/s/"), lt.File("d/.wh..wh..opq", "")}, checkOpaque},
	{"opaque marker with userxattr", []whiteout.Format{whiteout.FormatOverlayUser}, []L{lt.Dir("d/"), lt.File("d/.wh..wh..opq", "")}, func(t *testing.T, d string, _ whiteout.Format) {
		v, _ := xattr(t, d+"/d", "user.overlay.opaque")
		eq(t, "user.overlay.opaque", v, "y")
	}},
	{"aufs meta names skipped", nil, []L{lt.File(".wh..wh.aufs", ""), lt.Dir(".wh..wh.orph/"), lt.File("d/.wh..wh.plnk", "")}, func(t *testing.T, d string, _ whiteout.Format) {
		eq(t, "root entries", len(dirNames(t, d)), 0)
	}},
}

func checkOpaque(t *testing.T, d string, f whiteout.Format) {
	content(t, d+"/d/a", "1")
	attrs(t, d+"/d/s", unix.S_IFDIR, 0o755, 0, 0)
	v, ok := xattr(t, d+"/d", "trusted.overlay.opaque")
	if f == whiteout.FormatFiles {
		eq(t, "opaque xattr set", ok, false)
		attrs(t, d+"/d/"+whiteout.OpaqueMarker, unix.S_IFREG, 0o644, 0, 0)
		return
	}
	eq(t, "trusted.overlay.opaque", v, "y")
	absent(t, d+"/d/"+whiteout.OpaqueMarker)
}

func TestApply(t *testing.T) {
	needRoot(t)
	for _, tc := range goodCases {
		formats := tc.formats
		if formats == nil {
			formats = bothFormats
		}
		for _, f := range formats {
			t.Run(tc.name+"/"+string(f), func(t *testing.T) {
				e := newApplyEnv(t)
				data := lt.Tar(t, tc.entries...)
				res, err := Apply(context.Background(), e.root, bytes.NewReader(data), ApplyOptions{Converter: converter(t, f)})
				if err != nil {
					t.Fatalf("apply: %v", err)
				}
				eq(t, "diffID", res.DiffID, digest.FromBytes(data))
				tc.check(t, e.root, f)
				e.checkContained(t)
			})
		}
	}
}

// badCases must each fail with ErrUnsafeEntry and leave everything outside
// the diff dir alone. They get the env to aim at its absolute paths.
var badCases = []struct {
	name    string
	entries func(e *applyEnv) []L
}{
	{"dotdot name", func(*applyEnv) []L { return []L{lt.File("../sentinel/x", "1")} }},
	{"dotdot inside name", func(*applyEnv) []L { return []L{lt.File("a/../../x", "1")} }},
	{"dotdot dir", func(*applyEnv) []L { return []L{lt.Dir("../x/")} }},
	{"absolute name", func(e *applyEnv) []L { return []L{lt.File(e.sentinel+"/x", "1")} }},
	{"absolute dir", func(e *applyEnv) []L { return []L{lt.Dir(e.sentinel + "/d/")} }},
	{"symlink to / then file through it", func(e *applyEnv) []L { return []L{lt.Symlink("a", "/"), lt.File("a"+e.sentinel+"/x", "1")} }},
	{"symlink to ../.. then file through it", func(*applyEnv) []L { return []L{lt.Symlink("a", "../.."), lt.File("a/x", "1")} }},
	{"symlink to outside then file through it", func(e *applyEnv) []L { return []L{lt.Symlink("a", e.sentinel), lt.File("a/x", "1")} }},
	{"nested symlink then file through it", func(*applyEnv) []L {
		return []L{lt.Dir("d/"), lt.Symlink("d/a", "../../sentinel"), lt.File("d/a/x", "1")}
	}},
	{"symlink then hardlink through it", func(e *applyEnv) []L {
		return []L{lt.Symlink("a", e.sentinel), lt.File("f", "1"), lt.Hardlink("a/h", "f")}
	}},
	{"hardlink whose target goes through a symlink", func(e *applyEnv) []L { return []L{lt.Symlink("a", e.outside), lt.Hardlink("h", "a/secret")} }},
	{"symlink then dir through it", func(e *applyEnv) []L { return []L{lt.Symlink("a", e.sentinel), lt.Dir("a/d/")} }},
	{"symlink then deep dir through it", func(*applyEnv) []L { return []L{lt.Symlink("a", "../sentinel"), lt.Dir("a/b/c/", lt.Mode(0o777))} }},
	{"symlink then whiteout through it", func(e *applyEnv) []L { return []L{lt.Symlink("a", e.sentinel), lt.File("a/.wh.x", "")} }},
	{"symlink then opaque marker through it", func(e *applyEnv) []L {
		return []L{lt.Symlink("a", e.sentinel), lt.File("a/"+whiteout.OpaqueMarker, "")}
	}},
	{"symlink then device through it", func(e *applyEnv) []L { return []L{lt.Symlink("a", e.sentinel), lt.Fifo("a/p")} }},
	{"hardlink to dotdot", func(*applyEnv) []L { return []L{lt.Hardlink("h", "../outside/secret")} }},
	{"hardlink to absolute name", func(e *applyEnv) []L { return []L{lt.Hardlink("h", e.outside+"/secret")} }},
	{"hardlink to a name not in the layer", func(*applyEnv) []L { return []L{lt.Hardlink("h", "nothere")} }},
	{"hardlink to a dir", func(*applyEnv) []L { return []L{lt.Dir("d/"), lt.Hardlink("h", "d")} }},
	{"hardlink to the root", func(*applyEnv) []L { return []L{lt.Hardlink("h", "./")} }},
	{"whiteout of dotdot", func(*applyEnv) []L { return []L{lt.File(".wh...", "")} }},
	{"whiteout of dot in a dir", func(*applyEnv) []L { return []L{lt.File("a/.wh..", "")} }},
	{"whiteout of dotdot in a dir", func(*applyEnv) []L { return []L{lt.Dir("a/"), lt.File("a/.wh...", "")} }},
	{"whiteout of nothing", func(*applyEnv) []L { return []L{lt.File(".wh.", "")} }},
	{"root as symlink", func(e *applyEnv) []L { return []L{lt.Symlink(".", e.sentinel), lt.File("x", "1")} }},
	{"root as symlink with slash", func(*applyEnv) []L { return []L{lt.Symlink("./", "/")} }},
	{"root as file", func(*applyEnv) []L { return []L{lt.File(".", "x")} }},
	{"root as hardlink", func(*applyEnv) []L { return []L{lt.File("f", ""), lt.Hardlink("./", "f")} }},
	{"root as fifo", func(*applyEnv) []L { return []L{lt.Fifo(".")} }},
}

func TestApplyRefusesUnsafeEntries(t *testing.T) {
	needRoot(t)
	for _, tc := range badCases {
		for _, f := range bothFormats {
			t.Run(tc.name+"/"+string(f), func(t *testing.T) {
				e := newApplyEnv(t)
				data := lt.Tar(t, tc.entries(e)...)
				_, err := Apply(context.Background(), e.root, bytes.NewReader(data), ApplyOptions{Converter: converter(t, f)})
				if !errors.Is(err, ErrUnsafeEntry) {
					t.Errorf("err = %v, want ErrUnsafeEntry", err)
				}
				attrs(t, e.root, unix.S_IFDIR, 0o755, 0, 0)
				e.checkContained(t)
			})
		}
	}
}

// The diffID covers every byte read, the zero padding after the
// end-of-archive blocks included, and the recorded headers reassemble the
// very same stream (whiteouts from their native form).
func TestApplyDiffIDAndReassemble(t *testing.T) {
	needRoot(t)
	for _, f := range bothFormats {
		t.Run(string(f), func(t *testing.T) {
			e := newApplyEnv(t)
			entries := []L{lt.Dir("./"), lt.Dir("d/", lt.MTime(t1)), lt.File("d/f", "content", lt.Xattr("user.x", "1")), lt.File(".wh.gone", ""),
				lt.File("d/"+whiteout.OpaqueMarker, ""), lt.Symlink("l", "d/f"), lt.Hardlink("h", "d/f")}
			bare := lt.Tar(t, entries...)
			data := lt.Tar(t, append(entries, lt.Trailing(make([]byte, 10240-len(bare)%10240)))...)
			if len(data)%10240 != 0 || len(data) <= len(bare) {
				t.Fatalf("padding: %d bytes", len(data))
			}
			var split bytes.Buffer
			res, err := Apply(context.Background(), e.root, bytes.NewReader(data), ApplyOptions{Converter: converter(t, f), TarSplit: &split})
			if err != nil {
				t.Fatal(err)
			}
			eq(t, "diffID", res.DiffID, digest.FromBytes(data))
			eq(t, "size", res.Size, int64(len("content")))
			var out bytes.Buffer
			if err := Reassemble(e.root, "", &split, &out); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), data) {
				t.Errorf("reassembled %d bytes, differ from the %d applied", out.Len(), len(data))
			}
		})
	}
}

// OCI layer.md allows a hardlink to a file of a lower layer: the applier
// copies it into this layer and links to the copy, never outside.
func TestApplyHardlinkToLowerLayer(t *testing.T) {
	needRoot(t)
	for _, f := range bothFormats {
		t.Run(string(f), func(t *testing.T) {
			e := newApplyEnv(t)
			tool := filepath.Join(e.lower, "usr/bin/tool")
			os.MkdirAll(filepath.Dir(tool), 0o755)
			os.Mkdir(filepath.Join(e.lower, "etc"), 0o755)
			if err := os.WriteFile(tool, []byte("#!tool"), 0o600); err != nil {
				t.Fatal(err)
			}
			os.Chown(tool, 7, 8)
			unix.Chmod(tool, 0o4755) // os.Chmod would drop the raw setuid bit
			os.Chtimes(tool, t1, t1)
			data := lt.Tar(t, lt.Dir("bin/"), lt.Hardlink("bin/tool", "usr/bin/tool"), lt.Hardlink("tool2", "usr/bin/tool"))
			res, err := Apply(context.Background(), e.root, bytes.NewReader(data), ApplyOptions{Converter: converter(t, f), Lower: lowerIn(e.lower)})
			if err != nil {
				t.Fatal(err)
			}
			eq(t, "copied", strings.Join(res.Copied, ","), "usr/bin/tool")
			copied := attrs(t, e.root+"/usr/bin/tool", unix.S_IFREG, 0o4755, 7, 8)
			content(t, e.root+"/usr/bin/tool", "#!tool")
			mtime(t, e.root+"/usr/bin/tool", t1)
			eq(t, "nlink", copied.Nlink, 3)
			eq(t, "bin/tool inode", lstat(t, e.root+"/bin/tool").Ino, copied.Ino)
			eq(t, "tool2 inode", lstat(t, e.root+"/tool2").Ino, copied.Ino)
			eq(t, "lower nlink", lstat(t, tool).Nlink, 1)
			e.checkContained(t)

			// Not in any lower layer, or not a regular file there: refused.
			for _, target := range []string{"nothere", "etc", "usr/bin"} {
				data := lt.Tar(t, lt.Hardlink("h", target))
				_, err := Apply(context.Background(), t.TempDir(), bytes.NewReader(data), ApplyOptions{Converter: converter(t, f), Lower: lowerIn(e.lower)})
				if !errors.Is(err, ErrUnsafeEntry) {
					t.Errorf("hardlink to lower %q: err = %v, want ErrUnsafeEntry", target, err)
				}
			}
		})
	}
}

func TestApplyNeedsConverter(t *testing.T) {
	if _, err := Apply(context.Background(), t.TempDir(), bytes.NewReader(nil), ApplyOptions{}); err == nil {
		t.Fatal("Apply without a converter succeeded")
	}
}

// A directory the tar does not list, made as the parent of an entry, takes
// the lower layers' attributes for that directory; a copied-up hardlink
// target keeps its xattrs. Otherwise the layer would mask them in the
// merged view.
func TestApplyImpliedParentsKeepLowerAttrs(t *testing.T) {
	needRoot(t)
	for _, f := range bothFormats {
		t.Run(string(f), func(t *testing.T) {
			e := newApplyEnv(t)
			etc := filepath.Join(e.lower, "etc")
			os.Mkdir(etc, 0o750)
			os.Chown(etc, 5, 6)
			group := filepath.Join(etc, "group")
			if err := os.WriteFile(group, []byte("g"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := unix.Lsetxattr(group, "user.k", []byte("v"), 0); err != nil {
				t.Skipf("user xattrs: %v", err)
			}
			os.Chtimes(etc, t1, t1)
			data := lt.Tar(t, lt.Hardlink("hard/c", "etc/group"), lt.File("etc/new", "n"))
			if _, err := Apply(context.Background(), e.root, bytes.NewReader(data), ApplyOptions{Converter: converter(t, f), Lower: lowerIn(e.lower)}); err != nil {
				t.Fatal(err)
			}
			attrs(t, e.root+"/etc", unix.S_IFDIR, 0o750, 5, 6)
			mtime(t, e.root+"/etc", t1)
			attrs(t, e.root+"/hard", unix.S_IFDIR, 0o755, 0, 0) // not below: Docker's default
			buf := make([]byte, 16)
			n, err := unix.Lgetxattr(e.root+"/hard/c", "user.k", buf)
			if err != nil || string(buf[:n]) != "v" {
				t.Errorf("xattr of the copied target = %q, %v; want v", buf[:max(n, 0)], err)
			}
		})
	}
}
