package build

import (
	"os"
	"path/filepath"
	"testing"
)

func TestInRoot(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"etc", "usr/lib", "a/b"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, target := range map[string]string{
		"abs": "/etc", "rel": "usr/lib", "up": "../../../../etc", "a/b/back": "../../usr",
		"loop": "loop", "chain": "abs", "file": "/etc/passwd", "a/parent": "..",
	} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	for _, tc := range []struct{ in, want string }{
		{".", "."},
		{"etc/x", "etc/x"},
		{"abs/x", "etc/x"},
		{"abs", "etc"},
		{"rel/x", "usr/lib/x"},
		{"up/x", "etc/x"},
		{"a/b/back/lib/x", "usr/lib/x"},
		{"chain/x", "etc/x"},
		{"file", "etc/passwd"},
		{"a/parent/etc", "etc"},
		{"new/../../x", "x"},
		{"abs/new/../../../x", "x"},
	} {
		got, err := inRoot(root, tc.in)
		if err != nil || got != tc.want {
			t.Errorf("inRoot(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := inRoot(root, "loop/x"); err == nil {
		t.Error("inRoot(loop/x): no error for a symlink loop")
	}
}

func FuzzInRoot(f *testing.F) {
	dir := f.TempDir()
	os.MkdirAll(filepath.Join(dir, "etc"), 0o755)
	os.Symlink("/etc", filepath.Join(dir, "abs"))
	os.Symlink("../..", filepath.Join(dir, "etc", "up"))
	root, err := os.OpenRoot(dir)
	if err != nil {
		f.Fatal(err)
	}
	f.Add("abs/up/x")
	f.Add("../a/./b//c")
	f.Fuzz(func(t *testing.T, rel string) {
		got, err := inRoot(root, rel)
		if err != nil {
			return
		}
		// Never above the root: os.Root takes every result.
		if filepath.IsAbs(got) || got == ".." || len(got) >= 3 && got[:3] == "../" {
			t.Fatalf("inRoot(%q) = %q: outside the root", rel, got)
		}
	})
}
