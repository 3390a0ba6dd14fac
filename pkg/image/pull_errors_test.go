package image_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	digest "github.com/opencontainers/go-digest"

	"github.com/layerctl/layerctl/pkg/image"
	"github.com/layerctl/layerctl/pkg/image/registrytest"
)

// configBlob marks a rewrite of the config blob instead of a layer blob.
const configBlob = -1

// Every broken image fails to pull, from a registry and from an OCI layout,
// and leaves nothing of itself: no layer at or above the broken one (listed
// or as a directory under layers/), nothing in tmp/, no image record and no
// name. A good image with the same layers pulls into that store afterwards.
func TestPullFailures(t *testing.T) {
	tar0, tar1 := baseTar(t), appTar(t, "hello\n")
	l0, l1 := gzipLayer(t, tar0), gzipLayer(t, tar1)
	good := registrytest.OCIImage(t, nil, l0, l1)
	goodDiffIDs := func() []v1.Hash {
		cf, err := good.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		return slices.Clone(cf.RootFS.DiffIDs)
	}
	compressed := func(l v1.Layer) []byte {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	gz1 := compressed(l1)
	bogus := v1.Hash{Algorithm: "sha256", Hex: digest.FromString("bogus").Encoded()}

	// broken builds an image with good's layers (or the given ones) and
	// good's diffIDs changed by edit; a label keeps its config (its ID)
	// apart from good's.
	broken := func(label string, edit func(ids []v1.Hash) []v1.Hash, layers ...v1.Layer) v1.Image {
		if layers == nil {
			layers = []v1.Layer{l0, l1}
		}
		return registrytest.OCIImage(t, func(cf *v1.ConfigFile) {
			cf.Config.Labels = map[string]string{"broken": label}
			ids := goodDiffIDs()
			if edit != nil {
				ids = edit(ids)
			}
			cf.RootFS.DiffIDs = ids
		}, layers...)
	}
	// flipOS changes the OS byte of a gzip header: the blob keeps its size
	// and decompresses to the same tar, only its digest changes.
	flipOS := func(b []byte) []byte {
		b = slices.Clone(b)
		b[9] ^= 0xff
		return b
	}

	// An empty gzip member: appended to a gzip blob, the blob decompresses to
	// the same tar, but it is longer than the manifest says.
	var emptyGzip []byte
	{
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Close()
		emptyGzip = buf.Bytes()
	}

	for _, tc := range []struct {
		name     string
		img      v1.Image
		rewrite  int                 // blob to rewrite after upload: a layer index or configBlob
		fn       func([]byte) []byte // nil: no rewrite
		firstBad int                 // the image's chainIDs from here on must not be published
		noLayers bool                // the pull must fail before extracting anything
		errOCI   string              // substrings of the error, per transport ("" not checked)
		errReg   string
	}{
		// A registry blob's digest is checked by go-containerregistry alone.
		{name: "base blob digest mismatch", img: broken("digest0", nil), rewrite: 0, fn: flipOS,
			firstBad: 0, errOCI: "blob has digest", errReg: "checksum"},
		{name: "top blob digest mismatch", img: broken("digest1", nil), rewrite: 1, fn: flipOS,
			firstBad: 1, errOCI: "blob has digest", errReg: "checksum"},
		{name: "blob longer than the manifest says", img: broken("long", nil), rewrite: 1,
			fn: func(b []byte) []byte { return append(slices.Clone(b), emptyGzip...) }, firstBad: 1,
			errOCI: "larger than the"},
		{name: "truncated gzip blob", firstBad: 1, errOCI: "unexpected EOF", errReg: "unexpected EOF",
			img: broken("truncated", nil, l0, static.NewLayer(gz1[:len(gz1)/2], types.OCILayer))},
		{name: "config diff_ids[0] wrong", firstBad: 0, errOCI: "diffID", errReg: "diffID",
			img: broken("diffid0", func(ids []v1.Hash) []v1.Hash { ids[0] = bogus; return ids })},
		{name: "config diff_ids[1] wrong", firstBad: 1, errOCI: "diffID", errReg: "diffID",
			img: broken("diffid1", func(ids []v1.Hash) []v1.Hash { ids[1] = bogus; return ids })},
		{name: "config diff_ids swapped", firstBad: 0, errOCI: "diffID", errReg: "diffID",
			img: broken("swapped", func(ids []v1.Hash) []v1.Hash { return []v1.Hash{ids[1], ids[0]} })},
		{name: "more layers than diff_ids", noLayers: true,
			errOCI: "manifest lists 2 layers, the config 1 diff_ids", errReg: "manifest lists 2 layers, the config 1 diff_ids",
			img: broken("fewer-ids", func(ids []v1.Hash) []v1.Hash { return ids[:1] })},
		{name: "fewer layers than diff_ids", noLayers: true,
			errOCI: "manifest lists 2 layers, the config 3 diff_ids", errReg: "manifest lists 2 layers, the config 3 diff_ids",
			img: broken("more-ids", func(ids []v1.Hash) []v1.Hash { return append(ids, bogus) })},
		{name: "config blob corrupted", img: broken("config", nil), rewrite: configBlob, noLayers: true,
			fn: func(b []byte) []byte { return append(slices.Clone(b), ' ') }, errOCI: "config has digest"},
	} {
		blobOf := func() string {
			if tc.rewrite == configBlob {
				return configDigest(t, tc.img).String()
			}
			layers, err := tc.img.Layers()
			if err != nil {
				t.Fatal(err)
			}
			return blobDigest(t, layers[tc.rewrite])
		}
		badChains := chainIDsOf(t, tc.img)[tc.firstBad:]
		badID := configDigest(t, tc.img)

		for _, transport := range []string{"registry", "oci"} {
			t.Run(tc.name+"/"+transport, func(t *testing.T) {
				var badSrc, goodSrc, wantErr string
				switch transport {
				case "registry":
					reg := startRegistry(t)
					goodSrc = reg.push(t, "good:1", good)
					badSrc = reg.push(t, "bad:1", tc.img)
					if tc.fn != nil {
						reg.corrupt("bad", blobOf(), tc.fn)
					}
					wantErr = tc.errReg
				case "oci":
					goodSrc = registrytest.WriteLayout(t, filepath.Join(t.TempDir(), "good"), good, "latest")
					badDir := filepath.Join(t.TempDir(), "bad")
					badSrc = registrytest.WriteLayout(t, badDir, tc.img, "latest")
					if tc.fn != nil {
						rewriteLayoutBlob(t, badDir, blobOf(), tc.fn)
					}
					wantErr = tc.errOCI
				}
				s, im := newStore(t)

				_, err := pull(t, s, im, badSrc, image.PullOptions{})
				if err == nil {
					t.Fatalf("pull %s: no error", badSrc)
				}
				t.Logf("pull %s: %v", badSrc, err)
				if !strings.Contains(err.Error(), wantErr) {
					t.Errorf("error %q, want it to contain %q", err, wantErr)
				}
				checkNothingOf(t, s, im, badChains, badID)
				if tc.noLayers && len(listedChainIDs(t, s)) != 0 {
					t.Errorf("layers %v were extracted", listedChainIDs(t, s))
				}

				rec := mustPull(t, s, im, goodSrc, image.PullOptions{})
				checkPulled(t, s, im, rec, good, "")
				checkFile(t, s, rec.ChainIDs[0], "etc/os-release", "ID=test\n")
				checkFile(t, s, rec.ChainIDs[1], "app/hello", "hello\n")
				if got := listedChainIDs(t, s); !sameSet(got, rec.ChainIDs) {
					t.Errorf("store layers %v, want exactly %v", got, rec.ChainIDs)
				}
			})
		}
	}
}

// sameSet reports whether a and b hold the same digests, in any order.
func sameSet(a, b []digest.Digest) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
