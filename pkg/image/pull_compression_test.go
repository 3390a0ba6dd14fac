package image_test

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/layerctl/layerctl/pkg/image"
	"github.com/layerctl/layerctl/pkg/image/registrytest"
)

// gzip, zstd and uncompressed layers, alone and mixed in one image, pull from
// a registry and from an OCI layout and verify; the record keeps each blob's
// media type.
func TestPullCompression(t *testing.T) {
	makers := map[string]func([]byte) v1.Layer{
		"gzip":         func(b []byte) v1.Layer { return gzipLayer(t, b) },
		"zstd":         func(b []byte) v1.Layer { return zstdLayer(t, b) },
		"uncompressed": plainLayer,
	}
	mediaTypes := map[string]types.MediaType{
		"gzip": types.OCILayer, "zstd": types.OCILayerZStd, "uncompressed": types.OCIUncompressedLayer,
	}
	layerTar := func(i int) []byte {
		return tarOf(t, dir(fmt.Sprintf("l%d", i)), file(fmt.Sprintf("l%d/f", i), fmt.Sprintf("layer %d\n", i)))
	}
	reg := startRegistry(t)

	for n, kinds := range [][]string{
		{"zstd"},
		{"uncompressed"},
		{"zstd", "zstd"},
		{"uncompressed", "uncompressed"},
		{"zstd", "uncompressed", "gzip"},
		{"uncompressed", "gzip", "zstd"},
	} {
		var layers []v1.Layer
		for i, k := range kinds {
			l := makers[k](layerTar(i))
			checkMagic(t, l, k)
			layers = append(layers, l)
		}
		img := registrytest.OCIImage(t, nil, layers...)
		name := fmt.Sprint(kinds)
		for _, transport := range []string{"registry", "oci"} {
			t.Run(name+"/"+transport, func(t *testing.T) {
				var src string
				if transport == "registry" {
					src = reg.push(t, fmt.Sprintf("c/%d:1", n), img)
				} else {
					src = registrytest.WriteLayout(t, filepath.Join(t.TempDir(), "c"), img, "latest")
				}
				s, im := newStore(t)
				rec := mustPull(t, s, im, src, image.PullOptions{})
				checkPulled(t, s, im, rec, img, "")
				for i, k := range kinds {
					if rec.Blobs[i].MediaType != string(mediaTypes[k]) {
						t.Errorf("blob %d media type %q, want %q", i, rec.Blobs[i].MediaType, mediaTypes[k])
					}
					checkFile(t, s, rec.ChainIDs[i], fmt.Sprintf("l%d/f", i), fmt.Sprintf("layer %d\n", i))
					m, err := s.Get(rec.ChainIDs[i])
					if err != nil {
						t.Fatal(err)
					}
					if len(m.Blobs) != 1 || m.Blobs[0].Digest != rec.Blobs[i].Digest {
						t.Errorf("layer %d records blobs %v, want %s", i, m.Blobs, rec.Blobs[i].Digest)
					}
				}
			})
		}
	}
}

// checkMagic makes sure a test layer's blob is compressed as its name says.
func checkMagic(t *testing.T, l v1.Layer, kind string) {
	t.Helper()
	rc, err := l.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	head := make([]byte, 4)
	if _, err := io.ReadFull(rc, head); err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{"gzip": {0x1f, 0x8b}, "zstd": {0x28, 0xb5, 0x2f, 0xfd}, "uncompressed": []byte("l")}[kind]
	if !bytes.HasPrefix(head, want) {
		t.Fatalf("%s layer starts with % x", kind, head)
	}
}
