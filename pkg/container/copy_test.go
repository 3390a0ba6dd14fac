package container_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/layerctl/layerctl/pkg/container"
	"github.com/layerctl/layerctl/pkg/union"
)

// docker cp's rules: where a source lands for each kind of destination.
func TestCopyPlan(t *testing.T) {
	for _, tc := range []struct {
		name              string
		src               string
		srcDir            bool
		dst               string
		dstExists, dstDir bool
		wantDir, wantTop  string
		wantErr           bool
	}{
		{"file into dir", "/a/f", false, "/d", true, true, "/d", "f", false},
		{"file onto file", "/a/f", false, "/d/g", true, false, "/d", "g", false},
		{"file to new name", "/a/f", false, "/d/new", false, false, "/d", "new", false},
		{"file to missing dir/", "/a/f", false, "/d/new/", false, false, "", "", true},
		{"dir into dir", "/a/s", true, "/d", true, true, "/d", "s", false},
		{"dir contents into dir", "/a/s/.", true, "/d", true, true, "/d", ".", false},
		{"dir to new name", "/a/s", true, "/d/new", false, false, "/d", "new", false},
		{"dir contents to new name", "/a/s/.", true, "/d/new/", false, false, "/d", "new", false},
		{"dir onto file", "/a/s", true, "/d/g", true, false, "", "", true},
	} {
		dir, top, err := container.CopyPlan(tc.src, tc.srcDir, tc.dst, tc.dstExists, tc.dstDir)
		if (err != nil) != tc.wantErr || dir != tc.wantDir || top != tc.wantTop {
			t.Errorf("%s: %q %q %v; want %q %q (error %v)", tc.name, dir, top, err, tc.wantDir, tc.wantTop, tc.wantErr)
		}
		if err != nil && !errors.Is(err, container.ErrCopy) {
			t.Errorf("%s: %v is not ErrCopy", tc.name, err)
		}
	}
}

// cp resolves every container path inside the container's root: hostile
// symlinks (absolute, climbing, to a directory) lead to the container's
// own files, reading or writing, and never to the host's.
func TestCopyHostileSymlinks(t *testing.T) {
	requireDriver(t, union.VFS)
	e := newEnv(t, union.VFS)
	s := e.create(t, e.pull(t, tinyImage(t)), "cp")
	merged := e.mount(t, s.ID)
	for name, target := range map[string]string{
		"abs": "/", "up": "../../../../../../../etc", "osr": "/etc/os-release", "hostfile": "/etc/hostname",
	} {
		if err := os.Symlink(target, filepath.Join(merged, name)); err != nil {
			t.Fatal(err)
		}
	}
	e.umount(t, s.ID)
	host := t.TempDir()

	// Reading through them: the container's os-release, not the host's.
	for _, src := range []string{"/abs/etc/os-release", "/up/os-release", "/abs/abs/up/../etc/os-release"} {
		var buf bytes.Buffer
		if err := e.cs.CopyOut(s.ID, src, &buf, container.CopyOptions{}); err != nil {
			t.Fatalf("cp %s -: %v", src, err)
		}
		tr := tar.NewReader(&buf)
		if _, err := tr.Next(); err != nil {
			t.Fatalf("cp %s -: %v", src, err)
		}
		if b, _ := io.ReadAll(tr); string(b) != "ID=test\n" {
			t.Errorf("cp %s - gave %q, want the container's file", src, b)
		}
	}
	// A link copied out is a link, not its target.
	if err := e.cs.Copy(s.ID, false, "/hostfile", filepath.Join(host, "l"), container.CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	if to, err := os.Readlink(filepath.Join(host, "l")); err != nil || to != "/etc/hostname" {
		t.Errorf("cp of a symlink: %q, %v; want the link itself", to, err)
	}

	// Writing through them lands in the container.
	src := filepath.Join(host, "payload")
	if err := os.WriteFile(src, []byte("mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, dst := range []string{"/up/", "/abs/etc/"} {
		if err := e.cs.Copy(s.ID, true, src, dst, container.CopyOptions{}); err != nil {
			t.Errorf("cp into %s: %v", dst, err)
		}
	}
	if _, err := os.Stat("/etc/payload"); err == nil {
		t.Fatal("cp wrote /etc/payload on the host")
	}
	if b, err := os.ReadFile(e.dir("containers", s.ID, "rw", "etc", "payload")); err != nil || string(b) != "mine\n" {
		t.Errorf("payload in the container's rw layer: %q, %v", b, err)
	}
	// A tar stream in: its names stay below the destination.
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	tw.WriteHeader(&tar.Header{Name: "../../escape", Mode: 0o644, Typeflag: tar.TypeReg})
	tw.Close()
	if err := e.cs.CopyIn(s.ID, "/etc", &tb, container.CopyOptions{}); err == nil {
		t.Error("a tar entry with ../ was extracted")
	}
	e.checkEmpty(t, "tmp")
}

// cp -a keeps the source's owners both ways (without it the copy is
// root's); cp -L copies what a symlink named as the source points to.
func TestCopyArchiveAndFollowLink(t *testing.T) {
	requireDriver(t, union.VFS)
	e := newEnv(t, union.VFS)
	s := e.create(t, e.pull(t, tinyImage(t)), "cpa")
	merged := e.mount(t, s.ID)
	if err := os.WriteFile(filepath.Join(merged, "owned"), []byte("theirs\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Join(merged, "owned"), 1234, 5678); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("owned", filepath.Join(merged, "link")); err != nil {
		t.Fatal(err)
	}
	e.umount(t, s.ID)
	host := t.TempDir()
	hostFile := filepath.Join(host, "mine")
	if err := os.WriteFile(hostFile, []byte("mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(hostFile, 4321, 8765); err != nil {
		t.Fatal(err)
	}
	owner := func(p string) [2]int {
		t.Helper()
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		return [2]int{int(st.Uid), int(st.Gid)}
	}
	rw := func(name string) string { return e.dir("containers", s.ID, "rw", name) }
	for _, tc := range []struct {
		name        string
		toContainer bool
		src, dst    string
		o           container.CopyOptions
		check       string
		want        [2]int
	}{
		{"out", false, "/owned", filepath.Join(host, "plain"), container.CopyOptions{}, filepath.Join(host, "plain"), [2]int{0, 0}},
		{"out -a", false, "/owned", filepath.Join(host, "kept"), container.CopyOptions{Archive: true}, filepath.Join(host, "kept"), [2]int{1234, 5678}},
		{"in", true, hostFile, "/in-plain", container.CopyOptions{}, rw("in-plain"), [2]int{0, 0}},
		{"in -a", true, hostFile, "/in-kept", container.CopyOptions{Archive: true}, rw("in-kept"), [2]int{4321, 8765}},
	} {
		if err := e.cs.Copy(s.ID, tc.toContainer, tc.src, tc.dst, tc.o); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := owner(tc.check); got != tc.want {
			t.Errorf("%s: owner %v, want %v", tc.name, got, tc.want)
		}
	}
	followed := filepath.Join(host, "followed")
	if err := e.cs.Copy(s.ID, false, "/link", followed, container.CopyOptions{FollowLink: true}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(followed); err != nil || string(b) != "theirs\n" {
		t.Errorf("cp -L of a link: %q, %v; want its target's content", b, err)
	}
	if fi, err := os.Lstat(followed); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("cp -L made %v, %v; want a regular file", fi.Mode(), err)
	}
	e.checkEmpty(t, "tmp")
}
