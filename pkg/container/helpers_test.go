package container_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/layerctl/layerctl/pkg/container"
	"github.com/layerctl/layerctl/pkg/image"
	"github.com/layerctl/layerctl/pkg/layer"
	"github.com/layerctl/layerctl/pkg/union"
	"github.com/layerctl/layerctl/pkg/union/uniontest"
)

// env is a store of one driver with its images and containers.
type env struct {
	driver string
	ls     *layer.Store
	im     *image.Images
	cs     *container.Store
}

// drivers are the drivers every container test runs on.
var drivers = []string{union.Overlay, union.VFS}

// newEnv opens a fresh store for driver; the caller has checked that the
// machine can mount it (see requireDriver).
func newEnv(t *testing.T, driver string) env {
	t.Helper()
	return newEnvAt(t, driver, t.TempDir())
}

// newEnvAt is newEnv with the store at root.
func newEnvAt(t *testing.T, driver, root string) env {
	t.Helper()
	ls, im := uniontest.OpenStoreAt(t, driver, root)
	cs, err := container.NewStore(ls, im, uniontest.Features())
	if err != nil {
		t.Fatal(err)
	}
	return env{driver, ls, im, cs}
}

func requireDriver(t *testing.T, driver string) {
	t.Helper()
	if driver == union.Overlay {
		uniontest.RequireOverlay(t)
	}
	uniontest.RequireRoot(t)
}

// pull puts an image of these layer tars into the store.
func (e env) pull(t *testing.T, tars [][]byte) image.Record {
	t.Helper()
	return uniontest.Pull(t, e.ls, e.im, uniontest.Image(t, tars...))
}

// create makes a container of rec with a fixed host name and nameserver, so
// that containers of different stores have the same -init layer.
func (e env) create(t *testing.T, rec image.Record, name string) container.State {
	t.Helper()
	s, err := e.cs.Create(t.Context(), container.CreateOptions{Image: rec.ID.String(), Name: name, Hostname: "box", DNS: []string{"192.0.2.53"}})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	return s
}

// mount mounts a container; whatever is left mounted is force-unmounted
// when the test ends.
func (e env) mount(t *testing.T, id string) string {
	t.Helper()
	path, err := e.cs.Mount(id)
	if err != nil {
		t.Fatalf("mount: %v", err)
	}
	t.Cleanup(func() {
		if _, err := e.cs.Get(id); err == nil {
			if err := e.cs.Umount(id, true); err != nil {
				t.Errorf("clean up: %v", err)
			}
		}
	})
	return path
}

func (e env) umount(t *testing.T, id string) {
	t.Helper()
	if err := e.cs.Umount(id, false); err != nil {
		t.Fatalf("umount: %v", err)
	}
}

// dir is a path under the store root.
func (e env) dir(parts ...string) string {
	return filepath.Join(append([]string{e.ls.Root()}, parts...)...)
}

// checkEmpty fails the test unless the store directory holds nothing.
func (e env) checkEmpty(t *testing.T, sub string) {
	t.Helper()
	entries, err := os.ReadDir(e.dir(sub))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, ent := range entries {
		t.Errorf("%s/%s left behind", sub, ent.Name())
	}
}

// lowerSnapshot records every read-only directory of a container exactly:
// its image's diff dirs and its -init layer.
func (e env) lowerSnapshot(t *testing.T, s container.State) map[string]map[string]string {
	t.Helper()
	dirs := []string{filepath.Join(e.cs.Dir(s.ID), "init")}
	for _, id := range s.ChainIDs {
		dirs = append(dirs, e.ls.DiffDir(id))
	}
	out := map[string]map[string]string{}
	for _, d := range dirs {
		x, err := uniontest.Exact(d)
		if err != nil {
			t.Fatal(err)
		}
		out[d] = x
	}
	return out
}

func checkSnapshot(t *testing.T, before, after map[string]map[string]string) {
	t.Helper()
	for dir, was := range before {
		now := after[dir]
		for p, rec := range was {
			if now[p] != rec {
				t.Errorf("%s: %s changed:\n\twas %s\n\tnow %s", dir, p, rec, now[p])
			}
		}
		for p, rec := range now {
			if _, ok := was[p]; !ok {
				t.Errorf("%s: %s appeared: %s", dir, p, rec)
			}
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
