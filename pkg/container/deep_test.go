package container_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/layerctl/layerctl/pkg/container"
	"github.com/layerctl/layerctl/pkg/layer"
	"github.com/layerctl/layerctl/pkg/union"
	"github.com/layerctl/layerctl/pkg/union/uniontest"
)

// An image that overlay stacks in one mount gets no flattened base; a deeper
// one mounts through one, made once, shared by the image's containers and
// removed by GCFlat once none is left. Both show what the layers
// materialised show, and leave no mount behind.
func TestDeepImages(t *testing.T) {
	uniontest.RequireOverlay(t)
	if d, err := union.New(union.Overlay, uniontest.Features()); err != nil || d.MaxLayers() < 500 {
		t.Skip("this kernel has no lowerdir+ (6.8+): a mount stacks few layers")
	}
	e := newEnvAt(t, union.Overlay, uniontest.Tmpfs(t))
	for _, tc := range []struct {
		layers   int
		flat     bool
		branches int // rw, init, the layers kept, the flattened base
	}{{260, false, 1 + 1 + 260}, {600, true, 1 + 1 + 498 + 1}} {
		rec := e.pull(t, uniontest.Deep(tc.layers).Tars(t))
		s := e.create(t, rec, "")
		merged := e.mount(t, s.ID)
		flats, _ := os.ReadDir(e.dir("flat"))
		if got := len(flats) > 0; got != tc.flat {
			t.Errorf("%d layers: flattened base made: %v, want %v", tc.layers, got, tc.flat)
		}
		if len(uniontest.MountsUnder(t, merged)) != 1 {
			t.Errorf("%d layers: /proc/mounts has %v at the rootfs", tc.layers, uniontest.MountsUnder(t, merged))
		}

		// The vfs driver's view: init and every layer copied, top first.
		want := t.TempDir()
		layers := append([]string{filepath.Join(e.cs.Dir(s.ID), "init")}, uniontest.DiffDirs(e.ls, rec)...)
		if err := layer.Materialise(t.Context(), want, layers, e.ls.Converter(), layer.MaterialiseOptions{}); err != nil {
			t.Fatal(err)
		}
		uniontest.CheckSame(t, "materialised layers", uniontest.MustWalk(t, want).Without("/"),
			"overlay rootfs", uniontest.MustWalk(t, merged).Without("/"))
		top := strconv.Itoa(tc.layers - 1)
		if got := readFile(t, filepath.Join(merged, "d", top)); got != "layer "+top+"\n" {
			t.Errorf("top file reads %q", got)
		}

		// inspect lists the stack with aufs's roles: a flattened base
		// carries no whiteouts ("=ro").
		info, err := e.cs.Inspect(s.ID)
		if err != nil {
			t.Fatal(err)
		}
		last := info.Branches[len(info.Branches)-1]
		isFlat := strings.HasSuffix(last, "=ro") && strings.Contains(last, "/flat/")
		if len(info.Branches) != tc.branches || isFlat != tc.flat || info.Mount == "" {
			t.Errorf("%d layers: inspect shows %d branches ending in %s, mount %q; want %d", tc.layers, len(info.Branches), last, info.Mount, tc.branches)
		}
		e.umount(t, s.ID)
		uniontest.CheckNoMounts(t, e.ls.Root())
		if !tc.flat {
			continue
		}

		other := e.create(t, rec, "")
		e.mount(t, other.ID)
		e.umount(t, other.ID)
		if flats, _ := os.ReadDir(e.dir("flat")); len(flats) != 1 {
			t.Errorf("two containers of one image: %d flattened bases", len(flats))
		}
		for _, id := range []string{s.ID, other.ID} {
			if n, err := e.cs.GCFlat(); err != nil || n != 0 {
				t.Errorf("GCFlat while a container needs the base: removed %d, %v", n, err)
			}
			if _, err := e.cs.Remove(id, false); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := e.cs.GCFlat(); err != nil || n != 1 {
			t.Errorf("GCFlat after rm of both: removed %d, %v; want 1", n, err)
		}
		e.checkEmpty(t, "flat")
		e.checkEmpty(t, "tmp")
		uniontest.CheckNoMounts(t, e.ls.Root())
	}
}

// Before 6.8 one mount takes what a page of option data holds: a 60-layer
// image, more than fit, is mounted through a flattened base with names
// relative to the store, and still shows what its layers materialised show.
func TestDeepImageWithoutLowerdirPlus(t *testing.T) {
	uniontest.RequireOverlay(t)
	ls, im := uniontest.OpenStoreAt(t, union.Overlay, uniontest.Tmpfs(t))
	old := uniontest.Features()
	old.Kernel = "6.1.0"
	cs, err := container.NewStore(ls, im, old)
	if err != nil {
		t.Fatal(err)
	}
	e := env{union.Overlay, ls, im, cs}
	rec := e.pull(t, uniontest.Deep(60).Tars(t))
	s := e.create(t, rec, "")
	m, err := e.cs.Describe(s)
	if err != nil {
		t.Fatal(err)
	}
	if m.Dir == "" || m.Lowers != nil {
		t.Errorf("described as %.200s..., want names relative to a directory", m)
	}
	merged := e.mount(t, s.ID)
	if flats, _ := os.ReadDir(e.dir("flat")); len(flats) != 1 {
		t.Errorf("%d flattened bases, want 1", len(flats))
	}
	want := t.TempDir()
	layers := append([]string{filepath.Join(e.cs.Dir(s.ID), "init")}, uniontest.DiffDirs(e.ls, rec)...)
	if err := layer.Materialise(t.Context(), want, layers, e.ls.Converter(), layer.MaterialiseOptions{}); err != nil {
		t.Fatal(err)
	}
	uniontest.CheckSame(t, "materialised layers", uniontest.MustWalk(t, want).Without("/"),
		"overlay rootfs", uniontest.MustWalk(t, merged).Without("/"))
	e.umount(t, s.ID)
	uniontest.CheckNoMounts(t, e.ls.Root())
}
