package whiteout

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		base   string
		kind   Kind
		target string
	}{
		{".wh.NAME", Whiteout, "NAME"},
		{".wh..hidden", Whiteout, ".hidden"},
		{".wh.", Whiteout, ""},     // classified, then refused by ValidTarget
		{".wh..", Whiteout, "."},   // likewise
		{".wh...", Whiteout, ".."}, // likewise
		{".wh..wh..opq", Opaque, ""},
		{".wh..wh.plnk", Meta, ""},
		{".wh..wh.aufs", Meta, ""},
		{".wh..wh.orph", Meta, ""},
		{".wh..wh.", Meta, ""},
		{".wh..wh..opqx", Meta, ""}, // only the exact marker is opaque
		{"NAME", Regular, ""},
		{"", Regular, ""},
		{".wh", Regular, ""},
		{"wh.NAME", Regular, ""},
		{"x.wh.NAME", Regular, ""},
		{".WH.NAME", Regular, ""},
	} {
		kind, target := Classify(tc.base)
		if kind != tc.kind || target != tc.target {
			t.Errorf("Classify(%q) = %v, %q; want %v, %q", tc.base, kind, target, tc.kind, tc.target)
		}
	}
	if got := TarName("x"); got != ".wh.x" {
		t.Errorf("TarName(x) = %q", got)
	}
	if k, target := Classify(TarName("x")); k != Whiteout || target != "x" {
		t.Errorf("Classify(TarName(x)) = %v, %q", k, target)
	}
}

func TestValidTarget(t *testing.T) {
	for target, want := range map[string]bool{
		"x": true, ".x": true, "..x": true, "x..": true, "with space": true,
		"": false, ".": false, "..": false, "a/b": false, "/": false, "x/": false,
	} {
		if got := ValidTarget(target); got != want {
			t.Errorf("ValidTarget(%q) = %v, want %v", target, got, want)
		}
	}
}

func TestForFormat(t *testing.T) {
	for _, tc := range []struct {
		f           Format
		passthrough bool
	}{{FormatOverlay, false}, {FormatOverlayUser, false}, {FormatFiles, true}} {
		c, err := ForFormat(tc.f)
		if err != nil {
			t.Fatalf("ForFormat(%q): %v", tc.f, err)
		}
		if c.Format() != tc.f || c.Passthrough() != tc.passthrough {
			t.Errorf("ForFormat(%q): format %q passthrough %v", tc.f, c.Format(), c.Passthrough())
		}
	}
	if _, err := ForFormat("aufs-ish"); err == nil {
		t.Error("ForFormat of an unknown format succeeded")
	}
}

func TestIsNativeXattr(t *testing.T) {
	names := []string{"trusted.overlay.opaque", "trusted.overlay.redirect", "trusted.overlay.", "user.overlay.opaque",
		"user.overlay.metacopy", "trusted.overlayx", "trusted.other", "user.overlay", "security.capability", "user.foo"}
	want := map[Format][]string{
		FormatOverlay:     {"trusted.overlay.opaque", "trusted.overlay.redirect", "trusted.overlay."},
		FormatOverlayUser: {"user.overlay.opaque", "user.overlay.metacopy"},
		FormatFiles:       nil,
	}
	for f, native := range want {
		c := mustConverter(t, f)
		for _, n := range names {
			isNative := false
			for _, w := range native {
				isNative = isNative || w == n
			}
			if got := c.IsNativeXattr(n); got != isNative {
				t.Errorf("%s: IsNativeXattr(%q) = %v, want %v", f, n, got, isNative)
			}
		}
	}
}

func mustConverter(t *testing.T, f Format) Converter {
	t.Helper()
	c, err := ForFormat(f)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// openDir returns a fresh directory and an open fd on it.
func openDir(t *testing.T) (string, int) {
	t.Helper()
	dir := t.TempDir()
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return dir, fd
}

func lstat(t *testing.T, path string) *unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	return &st
}

func TestOverlayWhiteout(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: overlay whiteouts are made with mknod")
	}
	for _, f := range []Format{FormatOverlay, FormatOverlayUser} {
		c := mustConverter(t, f)
		dir, fd := openDir(t)
		if err := c.Whiteout(fd, "gone"); err != nil {
			t.Fatal(err)
		}
		st := lstat(t, filepath.Join(dir, "gone"))
		if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 || !c.IsWhiteout(st) {
			t.Errorf("%s: whiteout has mode %o rdev %d, IsWhiteout %v", f, st.Mode, st.Rdev, c.IsWhiteout(st))
		}
		if _, err := os.Lstat(filepath.Join(dir, ".wh.gone")); err == nil {
			t.Errorf("%s: a .wh. file was made too", f)
		}
		if err := c.Whiteout(fd, "gone"); err == nil {
			t.Errorf("%s: a second whiteout over an existing name succeeded", f)
		}
		// Only a 0/0 char device is a whiteout.
		os.WriteFile(filepath.Join(dir, "file"), nil, 0o644)
		unix.Mknod(filepath.Join(dir, "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3)))
		unix.Mknod(filepath.Join(dir, "blk"), unix.S_IFBLK|0o600, 0)
		for _, n := range []string{"file", "null", "blk"} {
			if c.IsWhiteout(lstat(t, filepath.Join(dir, n))) {
				t.Errorf("%s: %s taken for a whiteout", f, n)
			}
		}
	}
}

func TestOverlayOpaque(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: trusted.overlay.* xattrs")
	}
	for _, tc := range []struct{ f, other Format }{{FormatOverlay, FormatOverlayUser}, {FormatOverlayUser, FormatOverlay}} {
		c, other := mustConverter(t, tc.f), mustConverter(t, tc.other)
		xattr := map[Format]string{FormatOverlay: "trusted.overlay.opaque", FormatOverlayUser: "user.overlay.opaque"}[tc.f]
		dir, fd := openDir(t)
		if ok, err := c.IsOpaque(dir); ok || err != nil {
			t.Errorf("%s: fresh dir opaque %v %v", tc.f, ok, err)
		}
		if err := c.Opaque(fd); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 8)
		n, err := unix.Lgetxattr(dir, xattr, buf)
		if err != nil || string(buf[:n]) != "y" {
			t.Errorf("%s: %s = %q, %v", tc.f, xattr, buf[:n], err)
		}
		if ok, err := c.IsOpaque(dir); !ok || err != nil {
			t.Errorf("%s: IsOpaque after Opaque = %v %v", tc.f, ok, err)
		}
		if ok, _ := other.IsOpaque(dir); ok {
			t.Errorf("%s: the other form (%s) sees the dir as opaque", tc.f, tc.other)
		}
		// Never followed: a symlink to an opaque dir is not opaque.
		link := filepath.Join(t.TempDir(), "link")
		os.Symlink(dir, link)
		if ok, err := c.IsOpaque(link); ok || err != nil {
			t.Errorf("%s: symlink to opaque dir: %v %v", tc.f, ok, err)
		}
		// Only the value "y" marks a dir opaque.
		unix.Lsetxattr(dir, xattr, []byte("n"), 0)
		if ok, _ := c.IsOpaque(dir); ok {
			t.Errorf("%s: %s=n taken as opaque", tc.f, xattr)
		}
		if _, err := c.IsOpaque(filepath.Join(dir, "missing")); err == nil {
			t.Errorf("%s: IsOpaque of a missing path gave no error", tc.f)
		}
	}
}

func TestFilesConverter(t *testing.T) {
	c := mustConverter(t, FormatFiles)
	if !c.Passthrough() {
		t.Fatal("files converter is not passthrough")
	}
	dir, fd := openDir(t)
	if err := c.Whiteout(fd, "gone"); err != nil {
		t.Fatal(err)
	}
	if err := c.Whiteout(fd, "gone"); err == nil {
		t.Error("second whiteout of the same name succeeded")
	}
	if err := c.Opaque(fd); err != nil {
		t.Fatal(err)
	}
	if err := c.Opaque(fd); err != nil {
		t.Errorf("marking a dir opaque twice: %v", err)
	}
	for _, n := range []string{".wh.gone", OpaqueMarker} {
		st := lstat(t, filepath.Join(dir, n))
		if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size != 0 {
			t.Errorf("%s: mode %o size %d, want an empty regular file", n, st.Mode, st.Size)
		}
		if c.IsWhiteout(st) {
			t.Errorf("IsWhiteout(%s) true: the files form has no native whiteout", n)
		}
	}
	if _, err := os.Lstat(filepath.Join(dir, "gone")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("files Whiteout made the target itself: %v", err)
	}
	if ok, err := c.IsOpaque(dir); ok || err != nil {
		t.Errorf("IsOpaque = %v %v, the files form has no native opaque mark", ok, err)
	}
}

func TestReadEntry(t *testing.T) {
	chr00 := &unix.Stat_t{Mode: unix.S_IFCHR}
	null := &unix.Stat_t{Mode: unix.S_IFCHR | 0o666, Rdev: unix.Mkdev(1, 3)}
	blk00 := &unix.Stat_t{Mode: unix.S_IFBLK}
	reg := &unix.Stat_t{Mode: unix.S_IFREG | 0o644}
	dir := &unix.Stat_t{Mode: unix.S_IFDIR | 0o755}
	overlayCases := []struct {
		name   string
		st     *unix.Stat_t
		kind   Kind
		target string
	}{
		{"gone", chr00, Whiteout, "gone"},
		{"null", null, Regular, ""},
		{"blk", blk00, Regular, ""},
		{".wh.x", reg, Regular, ""}, // a file a process made, not a whiteout
		{".wh..wh..opq", reg, Regular, ""},
		{".wh..wh.plnk", dir, Regular, ""},
		{"d", dir, Regular, ""},
	}
	filesCases := []struct {
		name   string
		st     *unix.Stat_t
		kind   Kind
		target string
	}{
		{".wh.gone", reg, Whiteout, "gone"},
		{".wh..wh..opq", reg, Opaque, ""},
		{".wh..wh.plnk", dir, Meta, ""},
		{".wh..wh.aufs", reg, Meta, ""},
		{"gone", chr00, Regular, ""}, // a device in the files form
		{"f", reg, Regular, ""},
	}
	for _, f := range []Format{FormatOverlay, FormatOverlayUser} {
		c := mustConverter(t, f)
		for _, tc := range overlayCases {
			if kind, target := c.ReadEntry(tc.name, tc.st); kind != tc.kind || target != tc.target {
				t.Errorf("%s: ReadEntry(%q, mode %o) = %v %q, want %v %q", f, tc.name, tc.st.Mode, kind, target, tc.kind, tc.target)
			}
		}
	}
	c := mustConverter(t, FormatFiles)
	for _, tc := range filesCases {
		if kind, target := c.ReadEntry(tc.name, tc.st); kind != tc.kind || target != tc.target {
			t.Errorf("files: ReadEntry(%q, mode %o) = %v %q, want %v %q", tc.name, tc.st.Mode, kind, target, tc.kind, tc.target)
		}
	}
}
