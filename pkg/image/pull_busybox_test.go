package image_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/layerctl/layerctl/pkg/image"
	"github.com/layerctl/layerctl/pkg/image/registrytest"
)

// The busybox image built by testdata/mkimage.sh (umoci), pulled from its OCI
// layout and, after skopeo pushed it, from a real docker-registry. Both pulls
// give the same image. Skips when umoci, skopeo or docker-registry is missing.
func TestPullBusybox(t *testing.T) {
	layoutDir := registrytest.MakeImage(t, "busybox")
	p, err := layout.FromPath(layoutDir)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 {
		t.Fatalf("busybox layout has %d manifests, want 1", len(im.Manifests))
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}

	check := func(t *testing.T, src, name string) {
		s, records := newStore(t)
		rec := mustPull(t, s, records, src, image.PullOptions{})
		checkPulled(t, s, records, rec, img, name)
		if len(rec.ChainIDs) != 1 {
			t.Fatalf("busybox has %d layers, want 1", len(rec.ChainIDs))
		}
		diff := s.DiffDir(rec.ChainIDs[0])
		fi, err := os.Lstat(filepath.Join(diff, "bin/busybox"))
		if err != nil {
			t.Fatal(err)
		}
		if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			t.Errorf("/bin/busybox mode %v, want an executable file", fi.Mode())
		}
		if target, err := os.Readlink(filepath.Join(diff, "bin/sh")); err != nil || target != "/bin/busybox" {
			t.Errorf("/bin/sh -> %q (%v), want /bin/busybox", target, err)
		}
		if fi, err := os.Lstat(filepath.Join(diff, "tmp")); err != nil || fi.Mode()&os.ModeSticky == 0 {
			t.Errorf("/tmp: %v, %v; want a sticky dir", fi, err)
		}
		checkFile(t, s, rec.ChainIDs[0], "etc/group", "root:x:0:\nnogroup:x:65534:\n")
	}

	t.Run("oci layout", func(t *testing.T) {
		check(t, "oci:"+layoutDir+":latest", "busybox:latest")
	})
	t.Run("docker-registry", func(t *testing.T) {
		host := registrytest.Start(t)
		registrytest.PushLayout(t, layoutDir, "latest", host, "busybox:latest")
		check(t, host+"/busybox:latest", host+"/busybox:latest")
	})
}
