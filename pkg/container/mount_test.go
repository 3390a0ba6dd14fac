package container_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/layerctl/layerctl/pkg/container"
	"github.com/layerctl/layerctl/pkg/union"
	"github.com/layerctl/layerctl/pkg/union/uniontest"
)

// checkMounted checks a container's mount count against what the kernel
// has: one mount while the count is above zero, none after.
func (e env) checkMounted(t *testing.T, id string, count int) {
	t.Helper()
	s, err := e.cs.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	merged := e.cs.MergedDir(id)
	mounts := uniontest.MountsUnder(t, merged)
	if s.MountCount != count || union.Mounted(merged) != (count > 0) || len(mounts) != min(count, 1) {
		t.Errorf("count %d, Mounted %v, /proc/mounts %v; want count %d and one mount while it is above 0",
			s.MountCount, union.Mounted(merged), mounts, count)
	}
	if want := map[bool]string{true: "mounted", false: "created"}[count > 0]; s.Status() != want {
		t.Errorf("status %s, want %s", s.Status(), want)
	}
}

// Mounts are counted: each mount needs its umount, and the rootfs goes with
// the last. A mounted container is removed only with force, which unmounts.
func TestMountCountAndRemove(t *testing.T) {
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			requireDriver(t, driver)
			e := newEnv(t, driver)
			s := e.create(t, e.pull(t, uniontest.Shapes()[0].Tars(t)), "counted")
			e.checkMounted(t, s.ID, 0)
			first := e.mount(t, s.ID)
			second := e.mount(t, "counted")
			if first != second || first != e.cs.MergedDir(s.ID) {
				t.Errorf("mounts at %s and %s, want both at %s", first, second, e.cs.MergedDir(s.ID))
			}
			e.checkMounted(t, s.ID, 2)
			e.umount(t, s.ID)
			e.checkMounted(t, s.ID, 1)
			if got := readFile(t, filepath.Join(first, "etc/hostname")); got != "box\n" {
				t.Errorf("after one of two umounts: etc/hostname = %q", got)
			}
			e.umount(t, s.ID)
			e.checkMounted(t, s.ID, 0)
			e.umount(t, s.ID) // nothing mounted: no error, nothing changes
			e.checkMounted(t, s.ID, 0)

			e.mount(t, s.ID)
			_, err := e.cs.Remove(s.ID, false)
			if !errors.Is(err, container.ErrContainerInUse) {
				t.Errorf("rm of a mounted container: err = %v, want ErrInUse", err)
			}
			e.checkMounted(t, s.ID, 1)
			if _, err := e.cs.Remove(s.ID, true); err != nil {
				t.Fatalf("rm -f: %v", err)
			}
			if _, err := e.cs.Get(s.ID); !errors.Is(err, container.ErrContainerNotFound) {
				t.Errorf("after rm -f: Get = %v, want ErrNotFound", err)
			}
			uniontest.CheckNoMounts(t, e.ls.Root())
			e.checkEmpty(t, "containers")
			e.checkEmpty(t, "tmp")
		})
	}
}

// Containers of one image stack the image's own diff dirs (overlay keeps no
// copy of them), and removing one leaves the other working.
func TestContainersShareImageLayers(t *testing.T) {
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			requireDriver(t, driver)
			e := newEnv(t, driver)
			rec := e.pull(t, uniontest.Shapes()[0].Tars(t))
			layersBefore, _ := os.ReadDir(e.dir("layers"))
			a, b := e.create(t, rec, "a"), e.create(t, rec, "b")
			if layersNow, _ := os.ReadDir(e.dir("layers")); len(layersNow) != len(layersBefore) {
				t.Errorf("layers/ went from %d to %d entries", len(layersBefore), len(layersNow))
			}
			ma, mb := e.mount(t, a.ID), e.mount(t, b.ID)
			if driver == union.Overlay {
				ba, err := e.cs.Branches(a)
				if err != nil {
					t.Fatal(err)
				}
				bb, err := e.cs.Branches(b)
				if err != nil {
					t.Fatal(err)
				}
				if want := uniontest.DiffDirs(e.ls, rec); !slices.Equal(ba.Lower, want) || !slices.Equal(bb.Lower, want) {
					t.Errorf("lower dirs\n\ta: %v\n\tb: %v\n\twant the image's %v", ba.Lower, bb.Lower, want)
				}
				// An unchanged file is the layer's own inode in both.
				ia, ib := uniontest.Inode(t, filepath.Join(ma, "data/keep")), uniontest.Inode(t, filepath.Join(mb, "data/keep"))
				layerIno := uniontest.Inode(t, filepath.Join(e.ls.DiffDir(rec.Top()), "data/keep"))
				if ia[1] != layerIno[1] || ib[1] != layerIno[1] {
					t.Errorf("data/keep is inode %d and %d, the layer's is %d", ia[1], ib[1], layerIno[1])
				}
			}
			if err := os.WriteFile(filepath.Join(ma, "data/keep"), []byte("a's\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, filepath.Join(mb, "data/keep")); got != "keep v2\n" {
				t.Errorf("b reads a's write: %q", got)
			}
			if _, err := e.cs.Remove(a.ID, true); err != nil {
				t.Fatal(err)
			}
			e.umount(t, b.ID)
			mb = e.mount(t, b.ID)
			if got := readFile(t, filepath.Join(mb, "data/keep")); got != "keep v2\n" {
				t.Errorf("after rm of a: b reads %q", got)
			}
			for _, id := range rec.ChainIDs {
				if err := e.ls.Verify(t.Context(), id); err != nil {
					t.Errorf("after rm of a: %v", err)
				}
			}
			e.umount(t, b.ID)
			uniontest.CheckNoMounts(t, e.ls.Root())
		})
	}
}
