package registrytest

import (
	"runtime"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Epoch is the creation time of every image built here (and of
// testdata/mkimage.sh's, its SOURCE_DATE_EPOCH), so that the same layers
// give the same image ID on every run.
var Epoch = time.Unix(1700000000, 0).UTC()

// RefNameAnnotation tags an image in an OCI layout's index.
const RefNameAnnotation = "org.opencontainers.image.ref.name"

// OCIImage stacks layers (base first) into an OCI image for linux on this
// machine's architecture, created at Epoch; edit, when not nil, changes the
// config last (after the layers' diffIDs are in it).
func OCIImage(t testing.TB, edit func(*v1.ConfigFile), layers ...v1.Layer) v1.Image {
	t.Helper()
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	return stack(t, mutate.ConfigMediaType(base, types.OCIConfigJSON), edit, layers...)
}

// DockerImage is OCIImage with Docker schema 2 media types.
func DockerImage(t testing.TB, edit func(*v1.ConfigFile), layers ...v1.Layer) v1.Image {
	t.Helper()
	return stack(t, empty.Image, edit, layers...)
}

func stack(t testing.TB, base v1.Image, edit func(*v1.ConfigFile), layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(base, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Created = v1.Time{Time: Epoch}
	if edit != nil {
		edit(cf)
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	return img
}

// WriteLayout adds img to the OCI layout at dir (created when missing)
// tagged tag, and returns the pull source "oci:DIR:TAG".
func WriteLayout(t testing.TB, dir string, img v1.Image, tag string, opts ...layout.Option) string {
	t.Helper()
	opts = append(opts, layout.WithAnnotations(map[string]string{RefNameAnnotation: tag}))
	if err := LayoutPath(t, dir).AppendImage(img, opts...); err != nil {
		t.Fatal(err)
	}
	return "oci:" + dir + ":" + tag
}

// LayoutPath opens the OCI layout at dir, making an empty one when there is
// none.
func LayoutPath(t testing.TB, dir string) layout.Path {
	t.Helper()
	if p, err := layout.FromPath(dir); err == nil {
		return p
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
