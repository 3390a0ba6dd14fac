package union_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/layerctl/layerctl/pkg/image"
	"github.com/layerctl/layerctl/pkg/layer"
	"github.com/layerctl/layerctl/pkg/union"
	"github.com/layerctl/layerctl/pkg/union/uniontest"
)

// pulled is one image pulled into a store of one driver.
type pulled struct {
	ls  *layer.Store
	rec image.Record
}

func pullInto(t *testing.T, driver string, tars [][]byte) pulled {
	t.Helper()
	ls, im := uniontest.OpenStore(t, driver)
	return pulled{ls, uniontest.Pull(t, ls, im, uniontest.Image(t, tars...))}
}

// mountOverlay mounts the image's layers with a fresh upper dir, as a
// container's rootfs is mounted, and returns the merged dir.
func mountOverlay(t *testing.T, f union.Features, lower []string) string {
	t.Helper()
	d, err := union.New(union.Overlay, f)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	uniontest.CleanupMounts(t, dir)
	b := union.Branches{Lower: lower, Upper: filepath.Join(dir, "upper"), Work: filepath.Join(dir, "work")}
	for _, sub := range []string{"upper", "work", "merged"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	m, err := d.Describe(b)
	if err != nil {
		t.Fatal(err)
	}
	merged := filepath.Join(dir, "merged")
	uniontest.Perform(t, m, merged)
	return merged
}

func materialise(t *testing.T, p pulled, opt layer.MaterialiseOptions) string {
	t.Helper()
	dst := t.TempDir()
	if err := layer.Materialise(t.Context(), dst, uniontest.DiffDirs(p.ls, p.rec), p.ls.Converter(), opt); err != nil {
		t.Fatal(err)
	}
	return dst
}

// An overlay mount of an image's layers, its materialised copy from an
// overlay store and from a vfs store, and go-containerregistry's flattened
// image all show the same files. The roots are left out: their attributes
// are the caller's (the container's rw dir).
func TestMergedViewsAgree(t *testing.T) {
	uniontest.RequireOverlay(t)
	for _, shape := range uniontest.Shapes() {
		t.Run(shape.Name, func(t *testing.T) {
			tars := shape.Tars(t)
			ovl, vfs := pullInto(t, union.Overlay, tars), pullInto(t, union.VFS, tars)
			views := []struct {
				name string
				dir  string
			}{
				{"overlay mount", mountOverlay(t, uniontest.Features(), uniontest.DiffDirs(ovl.ls, ovl.rec))},
				{"materialised overlay store", materialise(t, ovl, layer.MaterialiseOptions{})},
				{"materialised vfs store", materialise(t, vfs, layer.MaterialiseOptions{})},
				{"linked copy of the vfs store", materialise(t, vfs, layer.MaterialiseOptions{Link: true})},
			}
			var want uniontest.Tree
			wantName := "mutate.Extract"
			if shape.Extract {
				want = uniontest.Extract(t, uniontest.Image(t, tars...)).Without("/")
			}
			for _, v := range views {
				got := uniontest.MustWalk(t, v.dir).Without("/")
				if want == nil {
					want, wantName = got, v.name
					continue
				}
				uniontest.CheckSame(t, wantName, want, v.name, got)
			}
		})
	}
}

// Paths hardlinked in one layer (hard/b to hard/a) or made one by a hardlink
// to a lower layer's file (hard/c to etc/passwd, copied up by the store) are
// one inode in every merged view.
func TestMergedViewsKeepHardlinks(t *testing.T) {
	uniontest.RequireOverlay(t)
	tars := uniontest.Shapes()[0].Tars(t)
	ovl, vfs := pullInto(t, union.Overlay, tars), pullInto(t, union.VFS, tars)
	for name, dir := range map[string]string{
		"overlay mount":        mountOverlay(t, uniontest.Features(), uniontest.DiffDirs(ovl.ls, ovl.rec)),
		"materialised overlay": materialise(t, ovl, layer.MaterialiseOptions{}),
		"materialised vfs":     materialise(t, vfs, layer.MaterialiseOptions{}),
	} {
		for _, pair := range [][2]string{{"hard/a", "hard/b"}, {"etc/passwd", "hard/c"}} {
			a := uniontest.Inode(t, filepath.Join(dir, pair[0]))
			b := uniontest.Inode(t, filepath.Join(dir, pair[1]))
			if a != b {
				t.Errorf("%s: %s and %s are not one file", name, pair[0], pair[1])
			}
		}
	}
}

// Materialise only reads the layers; with Link it shares their inodes
// instead of copying, and leaves no whiteout or overlay mark in the copy.
func TestMaterialiseLeavesLayersAlone(t *testing.T) {
	uniontest.RequireRoot(t)
	for _, driver := range []string{union.Overlay, union.VFS} {
		t.Run(driver, func(t *testing.T) {
			p := pullInto(t, driver, uniontest.Shapes()[0].Tars(t))
			before := exactLayers(t, p)
			for _, link := range []bool{false, true} {
				dst := materialise(t, p, layer.MaterialiseOptions{Link: link})
				top := p.ls.DiffDir(p.rec.Top())
				shared := uniontest.Inode(t, filepath.Join(dst, "data/keep")) == uniontest.Inode(t, filepath.Join(top, "data/keep"))
				if shared != link {
					t.Errorf("Link=%v: data/keep shares the layer's inode: %v", link, shared)
				}
				exact, err := uniontest.Exact(dst)
				if err != nil {
					t.Fatal(err)
				}
				for path, rec := range exact {
					if strings.Contains(rec, "overlay.") || strings.Contains(path, "/.wh.") || strings.HasPrefix(rec, "char 0000 0:0 dev=0:0") {
						t.Errorf("Link=%v: %s is left in the copy: %s", link, path, rec)
					}
				}
			}
			checkSameLayers(t, p, before)
		})
	}
}

func exactLayers(t *testing.T, p pulled) []map[string]string {
	t.Helper()
	var out []map[string]string
	for _, dir := range uniontest.DiffDirs(p.ls, p.rec) {
		e, err := uniontest.Exact(dir)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func checkSameLayers(t *testing.T, p pulled, before []map[string]string) {
	t.Helper()
	for i, now := range exactLayers(t, p) {
		for path, rec := range before[i] {
			if now[path] != rec {
				t.Errorf("layer %d: %s changed:\n\twas %s\n\tnow %s", i, path, rec, now[path])
			}
		}
		for path, rec := range now {
			if _, ok := before[i][path]; !ok {
				t.Errorf("layer %d: %s appeared: %s", i, path, rec)
			}
		}
	}
}
