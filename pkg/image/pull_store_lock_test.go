package image_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"

	"github.com/layerctl/layerctl/pkg/image"
	"github.com/layerctl/layerctl/pkg/image/registrytest"
	"github.com/layerctl/layerctl/pkg/layer"
	"github.com/layerctl/layerctl/pkg/whiteout"
)

// promptly is how long gc, rmi or a pull beside a stalled pull may take
// before the test calls it blocked.
const promptly = 15 * time.Second

// openPullStore opens a store at root the way a pull process does: holding
// the store lock only around its short local steps.
func openPullStore(t testing.TB, root string) layerStore {
	t.Helper()
	s, err := layer.Open(root, layer.OpenOptions{NoHold: true, Default: func() (layer.Settings, error) {
		return layer.Settings{Driver: "overlay", Whiteout: whiteout.FormatOverlay}, nil
	}})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	im, err := image.NewImages(s)
	if err != nil {
		t.Fatal(err)
	}
	return layerStore{s, im}
}

// within runs fn and fails the test when it has not returned after d.
func within(t *testing.T, what string, d time.Duration, fn func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(d):
		t.Fatalf("%s still blocked after %v", what, d)
	}
}

// gcStore is what "layerctl gc" does: layers, then blobs, that no image
// record uses.
func gcStore(s layerStore) error {
	tops := func() ([]digest.Digest, error) {
		recs, err := s.images.List()
		var ids []digest.Digest
		for _, r := range recs {
			ids = append(ids, r.Top())
		}
		return ids, err
	}
	if _, err := s.layers.GC(tops, nil); err != nil {
		return err
	}
	return s.layers.Exclusive(func() error {
		recs, err := s.images.List()
		if err != nil {
			return err
		}
		keep := map[digest.Digest]bool{}
		for _, r := range recs {
			keep[r.ID], keep[r.Manifest] = true, true
		}
		_, err = s.layers.RemoveBlobs(keep)
		return err
	})
}

// A pull that hangs in the middle of a blob holds no store-wide lock: gc, rmi
// of another image and a pull of another image (sharing the stalled image's
// base layer) finish beside it, each through its own Store as another
// process would. gc keeps the base layer the stalled pull has published and
// needs; once the registry goes on, the stalled pull completes into a store
// that verifies.
func TestPullStalledBlocksNoOne(t *testing.T) {
	base := gzipLayer(t, baseTar(t))
	stalledTop := gzipLayer(t, tarOf(t, dir("slow"), file("slow/x", string(randomish(3, 256<<10)))))
	stalled := registrytest.OCIImage(t, nil, base, stalledTop)
	other := registrytest.OCIImage(t, nil, base, gzipLayer(t, appTar(t, "other\n")))
	victim := registrytest.OCIImage(t, nil, gzipLayer(t, appTar(t, "victim\n")))
	r := startHostileRegistry(t)
	stalledSrc := r.addImage("stalled", "1", stalled)
	otherSrc := r.addImage("other", "1", other)
	victimSrc := r.addImage("victim", "1", victim)
	topPath := blobPath("stalled", blobDigest(t, stalledTop))
	r.misbehave(topPath, stallBody)

	root := t.TempDir()
	setup := openPullStore(t, root)
	mustPull(t, setup.layers, setup.images, victimSrc, image.PullOptions{Name: "victim:1"})

	puller := openPullStore(t, root)
	pulled := make(chan error, 1)
	var rec image.Record
	go func() {
		var err error
		rec, err = image.Pull(t.Context(), puller.layers, puller.images, stalledSrc, image.PullOptions{Insecure: true, Name: "stalled:1"})
		pulled <- err
	}()
	baseChain := chainIDsOf(t, stalled)[0]
	for deadline := time.Now().Add(promptly); r.requestsTo(topPath) == 0 || !setup.layers.Has(baseChain); {
		if time.Now().After(deadline) {
			t.Fatal("the pull never reached the stalling blob")
		}
		time.Sleep(10 * time.Millisecond)
	}

	gc := openPullStore(t, root)
	within(t, "gc beside a stalled pull", promptly, func() error { return gcStore(gc) })
	if !gc.layers.Has(baseChain) {
		t.Fatalf("gc removed base layer %s, which the stalled pull has published and needs", baseChain)
	}
	within(t, "rmi beside a stalled pull", promptly, func() error {
		id, _, err := gc.images.Remove("victim:1", false)
		if err != nil {
			return err
		}
		rec, err := gc.images.Get(configDigest(t, victim))
		if err == nil {
			t.Errorf("image %s still recorded after rmi (%v)", id, rec.ID)
		}
		_, err = gc.layers.GC(func() ([]digest.Digest, error) { return nil, nil }, chainIDsOf(t, victim))
		return err
	})
	if gc.layers.Has(chainIDsOf(t, victim)[0]) {
		t.Error("rmi left the victim's layer")
	}
	another := openPullStore(t, root)
	var otherRec image.Record
	within(t, "a pull beside a stalled pull", promptly, func() error {
		var err error
		otherRec, err = image.Pull(t.Context(), another.layers, another.images, otherSrc, image.PullOptions{Insecure: true})
		return err
	})

	select {
	case err := <-pulled:
		t.Fatalf("the stalled pull ended early: %v", err)
	default:
	}
	r.unstall()
	select {
	case err := <-pulled:
		if err != nil {
			t.Fatalf("the stalled pull, once the registry went on: %v", err)
		}
	case <-time.After(promptly):
		t.Fatal("the stalled pull did not finish once the registry went on")
	}
	checkPulled(t, puller.layers, puller.images, rec, stalled, "stalled:1")
	checkPulled(t, another.layers, another.images, otherRec, other, "")
	within(t, "gc after the pulls", promptly, func() error { return gcStore(gc) })
	checkPulled(t, puller.layers, puller.images, rec, stalled, "stalled:1")
	checkPulled(t, another.layers, another.images, otherRec, other, "")
	if entries, _ := os.ReadDir(filepath.Join(root, "leases")); len(entries) != 0 {
		t.Errorf("leases left behind: %v", entries)
	}
}
