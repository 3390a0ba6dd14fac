package uniontest

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/layerctl/layerctl/pkg/image"
	"github.com/layerctl/layerctl/pkg/image/registrytest"
	"github.com/layerctl/layerctl/pkg/layer"
	"github.com/layerctl/layerctl/pkg/union"
)

// OpenStore makes a store for a driver in a fresh temp dir, as the CLI opens
// one with --driver, and its image records. Whatever a test leaves mounted
// under it is unmounted before the dir is removed.
func OpenStore(t testing.TB, driver string) (*layer.Store, *image.Images) {
	t.Helper()
	return OpenStoreAt(t, driver, t.TempDir())
}

// OpenStoreAt is OpenStore at root, a fresh directory.
func OpenStoreAt(t testing.TB, driver, root string) (*layer.Store, *image.Images) {
	t.Helper()
	CleanupMounts(t, root)
	ls, err := layer.Open(root, layer.OpenOptions{Driver: driver, FormatFor: union.WhiteoutFormat})
	if err != nil {
		t.Fatalf("open %s store: %v", driver, err)
	}
	t.Cleanup(func() { ls.Close() })
	im, err := image.NewImages(ls)
	if err != nil {
		t.Fatal(err)
	}
	return ls, im
}

// Image stacks hand-made layer tars (base first) into an OCI image for this
// machine's platform.
func Image(t testing.TB, tars ...[]byte) v1.Image {
	t.Helper()
	layers := make([]v1.Layer, len(tars))
	for i, b := range tars {
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(b)), nil
		}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
		if err != nil {
			t.Fatal(err)
		}
		layers[i] = l
	}
	return registrytest.OCIImage(t, nil, layers...)
}

// Pull writes img to an OCI layout beside the store and pulls it into the
// store through image.Pull, the path every image takes.
func Pull(t testing.TB, ls *layer.Store, im *image.Images, img v1.Image) image.Record {
	t.Helper()
	dir, err := os.MkdirTemp(filepath.Dir(ls.Root()), "layout-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "test"})); err != nil {
		t.Fatal(err)
	}
	rec, err := image.Pull(t.Context(), ls, im, "oci:"+dir+":test", image.PullOptions{})
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	return rec
}

// Extract records what go-containerregistry makes of img when it flattens
// it into one tar (mutate.Extract).
func Extract(t testing.TB, img v1.Image) Tree {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tree, err := FromTar(rc)
	if err != nil {
		t.Fatalf("flatten image: %v", err)
	}
	return tree
}

// DiffDirs are the diff dirs of an image's layers, top first, as union
// branches list them.
func DiffDirs(ls *layer.Store, rec image.Record) []string {
	dirs := make([]string, len(rec.ChainIDs))
	for i, id := range rec.ChainIDs {
		dirs[len(dirs)-1-i] = ls.DiffDir(id)
	}
	return dirs
}
