package container_test

import (
	"path/filepath"
	"testing"

	"github.com/layerctl/layerctl/pkg/union"
	"github.com/layerctl/layerctl/pkg/union/uniontest"
)

// A container's rootfs is the same tree on overlay and on vfs (the rw dir is
// a full copy there): the image as go-containerregistry flattens it, with the
// container's -init layer on top and the root's attributes from the image's
// top-most "./" entry.
func TestRootfsSameOnEveryDriver(t *testing.T) {
	uniontest.RequireOverlay(t)
	for _, shape := range uniontest.Shapes() {
		t.Run(shape.Name, func(t *testing.T) {
			tars := shape.Tars(t)
			var want uniontest.Tree
			wantName := "flattened image + init layer"
			for _, driver := range drivers {
				e := newEnv(t, driver)
				s := e.create(t, e.pull(t, tars), "")
				merged := e.mount(t, s.ID)
				got := uniontest.MustWalk(t, merged)
				if want == nil {
					if shape.Extract {
						initTree := uniontest.MustWalk(t, filepath.Join(e.cs.Dir(s.ID), "init"))
						want = uniontest.Extract(t, uniontest.Image(t, tars...)).Overlay(initTree)
					} else {
						want, wantName = got, driver
					}
				}
				uniontest.CheckSame(t, wantName, want, driver+" rootfs", got)
				if driver == union.VFS {
					uniontest.CheckSame(t, "vfs rootfs", got, "vfs rw dir", uniontest.MustWalk(t, filepath.Join(e.cs.Dir(s.ID), "rw")))
				}
				e.umount(t, s.ID)
				uniontest.CheckNoMounts(t, e.ls.Root())
			}
		})
	}
}
