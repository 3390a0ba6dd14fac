package union_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"

	"github.com/layerctl/layerctl/pkg/layer"
	"github.com/layerctl/layerctl/pkg/union"
	"github.com/layerctl/layerctl/pkg/union/uniontest"
)

// Each way Perform mounts overlay (plain data, "lowerdir+" through the new
// mount API, names relative to a directory as on kernels before 6.8) shows
// the same tree as the layers materialised, and unmounts without a trace.
func TestPerformOverlayForms(t *testing.T) {
	uniontest.RequireOverlay(t)
	deep := pullInto(t, union.Overlay, uniontest.Deep(45).Tars(t))
	small := pullInto(t, union.Overlay, uniontest.Shapes()[0].Tars(t))
	newKernel := uniontest.Features()
	oldKernel := newKernel
	oldKernel.Kernel = "6.1.0"
	for _, tc := range []struct {
		name string
		f    union.Features
		p    pulled
		form func(union.Mount) bool
		// throwaway adds the flag option "volatile" (run --rm), which
		// the new mount API takes as a flag, not a string.
		throwaway bool
	}{
		{"one page of data", newKernel, small, func(m union.Mount) bool { return m.Dir == "" && m.Lowers == nil }, false},
		{"lowerdir+", newKernel, deep, func(m union.Mount) bool { return len(m.Lowers) == 45 }, false},
		{"relative names", oldKernel, deep, func(m union.Mount) bool { return m.Dir != "" && m.Lowers == nil }, false},
		{"one page of data volatile", newKernel, small, func(m union.Mount) bool { return m.Dir == "" && m.Lowers == nil }, true},
		{"lowerdir+ volatile", newKernel, deep, func(m union.Mount) bool { return len(m.Lowers) == 45 }, true},
		{"relative names volatile", oldKernel, deep, func(m union.Mount) bool { return m.Dir != "" && m.Lowers == nil }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lower := uniontest.DiffDirs(tc.p.ls, tc.p.rec)
			d, err := union.New(union.Overlay, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			uniontest.CleanupMounts(t, dir)
			for _, sub := range []string{"upper", "work", "merged"} {
				if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			m, err := d.Describe(union.Branches{Lower: lower, Upper: filepath.Join(dir, "upper"), Work: filepath.Join(dir, "work"), Throwaway: tc.throwaway})
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(tc.name, "lowerdir+") && m.Lowers == nil {
				t.Skipf("kernel %s has no lowerdir+ (6.8+)", tc.f.Kernel)
			}
			if !tc.form(m) {
				t.Fatalf("described as %.300s, not in the form under test", m)
			}
			merged := filepath.Join(dir, "merged")
			cwd, _ := os.Getwd()
			if err := union.Perform(m, merged); err != nil {
				t.Fatal(err)
			}
			if now, _ := os.Getwd(); now != cwd {
				t.Errorf("mounting moved the process from %s to %s", cwd, now)
			}
			if got := uniontest.MountsUnder(t, merged); tc.throwaway && len(got) == 1 {
				if opts := mountOptions(t, merged); !strings.Contains(opts, "volatile") {
					t.Errorf("throwaway upper mounted without volatile: %s", opts)
				}
			}
			if !union.Mounted(merged) || len(uniontest.MountsUnder(t, merged)) != 1 {
				t.Errorf("after Perform: Mounted %v, /proc/mounts %v", union.Mounted(merged), uniontest.MountsUnder(t, merged))
			}
			want := uniontest.MustWalk(t, materialise(t, tc.p, layer.MaterialiseOptions{})).Without("/")
			uniontest.CheckSame(t, "materialised layers", want, "overlay mount", uniontest.MustWalk(t, merged).Without("/"))
			if err := union.Unmount(merged); err != nil {
				t.Fatal(err)
			}
			if union.Mounted(merged) {
				t.Error("still mounted after Unmount")
			}
			uniontest.CheckNoMounts(t, dir)
		})
	}
}

// Mounted sees a bind mount from the same filesystem (the vfs driver's
// rootfs), whose device number is its parent's; Unmount of what is not
// mounted is no error.
func TestMountedAndUnmount(t *testing.T) {
	uniontest.RequireRoot(t)
	dir := t.TempDir()
	uniontest.CleanupMounts(t, dir)
	src, target := filepath.Join(dir, "src"), filepath.Join(dir, "with space")
	mkfile(t, filepath.Join(src, "f"), "x")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	if union.Mounted(target) || union.Mounted(filepath.Join(dir, "missing")) {
		t.Fatal("a plain or missing dir counts as mounted")
	}
	vfs, err := union.New(union.VFS, union.Features{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := vfs.Describe(union.Branches{Upper: src})
	if err != nil {
		t.Fatal(err)
	}
	if err := union.Perform(m, target); err != nil {
		t.Fatal(err)
	}
	if !union.Mounted(target) {
		t.Error("a bind mount from the same filesystem is not seen as mounted")
	}
	if _, err := os.Stat(filepath.Join(target, "f")); err != nil {
		t.Errorf("bind mount does not show the source: %v", err)
	}
	for range 2 {
		if err := union.Unmount(target); err != nil {
			t.Errorf("Unmount: %v", err)
		}
	}
	if union.Mounted(target) {
		t.Error("still mounted")
	}
	uniontest.CheckNoMounts(t, dir)
}

// A failed mount says what was mounted where.
func TestPerformError(t *testing.T) {
	uniontest.RequireOverlay(t)
	dir := t.TempDir()
	uniontest.CleanupMounts(t, dir)
	m := union.Mount{Type: "overlay", Source: "overlay", Options: []string{"lowerdir=" + filepath.Join(dir, "missing")}}
	err := union.Perform(m, dir)
	if err == nil {
		t.Fatal("mount of a missing lower dir succeeded")
	}
	for _, want := range []string{"mount overlay", "missing: " + filepath.Join(dir, "missing"), dir} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}

// mountOptions reads the options /proc shows for the mount at dir: the
// mount's own and its superblock's.
func mountOptions(t *testing.T, dir string) string {
	t.Helper()
	found, err := union.ThreadMounts(mountinfo.SingleEntryFilter(dir))
	if err != nil {
		t.Fatal(err)
	}
	if len(found) == 0 {
		return ""
	}
	return found[0].Options + "," + found[0].VFSOptions
}
