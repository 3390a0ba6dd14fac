package image_test

// Tests of the compressed blobs a pull keeps: a pulled image pushes with the
// very blobs and manifest it came with (same manifest digest), a requested
// other compression recompresses, a damaged kept blob is never sent, and the
// blobs go with their layers.

import (
	"archive/tar"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	digest "github.com/opencontainers/go-digest"

	"github.com/layerctl/layerctl/pkg/image"
	"github.com/layerctl/layerctl/pkg/image/registrytest"
	"github.com/layerctl/layerctl/pkg/layer"
)

// keptSourceImage has two layers compressed by go-containerregistry's gzip
// (not what a push would write), with Docker or OCI media types.
func keptSourceImage(t *testing.T, docker bool) v1.Image {
	base, top := keptLayers(t, docker)
	if docker {
		return registrytest.DockerImage(t, nil, base, top)
	}
	return registrytest.OCIImage(t, nil, base, top)
}

func keptLayers(t *testing.T, docker bool) (base, top v1.Layer) {
	baseTar := tarOf(t, dir("bin/"), file("bin/tool", strings.Repeat("tool ", 4000)), dir("etc/"), file("etc/conf", "conf"))
	topTar := tarOf(t, dir("etc/"), file("etc/motd", "hello"))
	if docker {
		return dockerLayer(t, baseTar), dockerLayer(t, topTar)
	}
	return gzipLayer(t, baseTar), gzipLayer(t, topTar)
}

// manifestOf is an image's digest and its layers' blob digests.
func manifestOf(t *testing.T, img v1.Image) (digest.Digest, []string) {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	var blobs []string
	for _, l := range m.Layers {
		blobs = append(blobs, l.Digest.String())
	}
	return digest.Digest(d.String()), blobs
}

func readLayoutImage(t *testing.T, dir, tag string) v1.Image {
	t.Helper()
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, desc := range im.Manifests {
		if desc.Annotations[registrytest.RefNameAnnotation] == tag {
			img, err := idx.Image(desc.Digest)
			if err != nil {
				t.Fatal(err)
			}
			return img
		}
	}
	t.Fatalf("no %s in layout %s", tag, dir)
	return nil
}

func readRegistryImage(t *testing.T, ref string) v1.Image {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r)
	if err != nil {
		t.Fatalf("read %s: %v", ref, err)
	}
	return img
}

// TestPushSendsKeptBlobs: pull from the real registry and from a layout,
// push to a registry and to a layout: the manifest digest and the layer blob
// digests are the source's.
func TestPushSendsKeptBlobs(t *testing.T) {
	skipUnlessRoot(t)
	host := registrytest.Start(t)
	for _, docker := range []bool{false, true} {
		src := keptSourceImage(t, docker)
		wantDigest, wantBlobs := manifestOf(t, src)
		repo := "oci"
		if docker {
			repo = "docker"
		}
		if err := remote.Write(mustRef(t, host+"/src/"+repo+":1"), src); err != nil {
			t.Fatal(err)
		}
		sources := map[string]string{
			"registry": host + "/src/" + repo + ":1",
			"layout":   registrytest.WriteLayout(t, filepath.Join(t.TempDir(), "src"), src, "1"),
		}
		for from, source := range sources {
			t.Run(repo+" from "+from, func(t *testing.T) {
				s, im := newStore(t)
				rec := mustPull(t, s, im, source, image.PullOptions{Name: "kept:1"})
				for i, id := range rec.ChainIDs {
					m, err := s.Get(id)
					if err != nil {
						t.Fatal(err)
					}
					if len(m.Blobs) != 1 || !m.Blobs[0].Kept || m.Blobs[0].Digest.String() != wantBlobs[i] {
						t.Fatalf("layer %d records blobs %+v, want %s kept", i, m.Blobs, wantBlobs[i])
					}
					if _, err := os.Stat(filepath.Join(s.Root(), "blobs/sha256", m.Blobs[0].Digest.Encoded())); err != nil {
						t.Fatalf("kept blob of layer %d: %v", i, err)
					}
				}
				out := filepath.Join(t.TempDir(), "out")
				dests := map[string]func() v1.Image{
					"oci:" + out + ":1":                 func() v1.Image { return readLayoutImage(t, out, "1") },
					host + "/dst/" + repo + from + ":1": func() v1.Image { return readRegistryImage(t, host+"/dst/"+repo+from+":1") },
				}
				for dest, read := range dests {
					got := mustPush(t, s, im, "kept:1", dest, image.PushOptions{})
					gotDigest, gotBlobs := manifestOf(t, read())
					if got != wantDigest || gotDigest != wantDigest || !slices.Equal(gotBlobs, wantBlobs) {
						t.Errorf("push to %s: digest %s (read back %s) blobs %v, want %s %v", dest, got, gotDigest, gotBlobs, wantDigest, wantBlobs)
					}
				}
				// An archive holds the kept blobs as its layer files.
				archive := filepath.Join(t.TempDir(), "a.tar")
				mustPush(t, s, im, "kept:1", "docker-archive:"+archive, image.PushOptions{})
				if files := archiveFiles(t, archive); !slices.Contains(files, digest.Digest(wantBlobs[0]).Encoded()+".tar.gz") {
					t.Errorf("archive holds %v, want the kept blob %s", files, wantBlobs[0])
				}
				s2, im2 := newStore(t)
				if back := mustPull(t, s2, im2, "docker-archive:"+archive, image.PullOptions{}); back.ID != rec.ID {
					t.Errorf("archive pulls back as %s, want %s", back.ID, rec.ID)
				}
			})
		}
	}
}

// archiveFiles lists the member names of a tar file.
func archiveFiles(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			return names
		}
		names = append(names, h.Name)
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestPushRecompressesOnRequest: --compression zstd for gzip blobs makes new
// zstd blobs; the image ID stays.
func TestPushRecompressesOnRequest(t *testing.T) {
	skipUnlessRoot(t)
	s, im := newStore(t)
	src := keptSourceImage(t, false)
	_, srcBlobs := manifestOf(t, src)
	rec := mustPull(t, s, im, registrytest.WriteLayout(t, filepath.Join(t.TempDir(), "src"), src, "1"), image.PullOptions{Name: "kept:1"})
	out := filepath.Join(t.TempDir(), "out")
	mustPush(t, s, im, "kept:1", "oci:"+out+":z", image.PushOptions{Compression: "zstd"})
	img := readLayoutImage(t, out, "z")
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range m.Layers {
		if l.MediaType != types.OCILayerZStd || l.Digest.String() == srcBlobs[i] {
			t.Errorf("layer %d: %s %s, want a new zstd blob", i, l.MediaType, l.Digest)
		}
	}
	if cf, _ := img.ConfigName(); cf.String() != rec.ID.String() {
		t.Errorf("image ID %s, want %s", cf, rec.ID)
	}
	// gzip asked for explicitly: the kept gzip blobs do.
	mustPush(t, s, im, "kept:1", "oci:"+out+":g", image.PushOptions{Compression: "gzip"})
	if _, blobs := manifestOf(t, readLayoutImage(t, out, "g")); !slices.Equal(blobs, srcBlobs) {
		t.Errorf("push with gzip sent blobs %v, want the kept %v", blobs, srcBlobs)
	}
}

// TestPushCorruptKeptBlob: a kept blob damaged on disk is not sent; the
// layer is reassembled and compressed again, and verify names the blob.
func TestPushCorruptKeptBlob(t *testing.T) {
	skipUnlessRoot(t)
	s, im := newStore(t)
	src := keptSourceImage(t, false)
	srcDigest, srcBlobs := manifestOf(t, src)
	rec := mustPull(t, s, im, registrytest.WriteLayout(t, filepath.Join(t.TempDir(), "src"), src, "1"), image.PullOptions{Name: "kept:1"})
	bad := filepath.Join(s.Root(), "blobs", "sha256", digest.Digest(srcBlobs[0]).Encoded())
	data, err := os.ReadFile(bad)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(bad, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(t.Context(), rec.ChainIDs[0]); !errors.Is(err, layer.ErrCorrupt) || !strings.Contains(err.Error(), srcBlobs[0]) {
		t.Errorf("verify of a layer with a damaged kept blob: %v", err)
	}
	out := filepath.Join(t.TempDir(), "out")
	got := mustPush(t, s, im, "kept:1", "oci:"+out+":1", image.PushOptions{})
	_, blobs := manifestOf(t, readLayoutImage(t, out, "1"))
	if got == srcDigest || blobs[0] == srcBlobs[0] || blobs[1] != srcBlobs[1] {
		t.Errorf("push sent manifest %s blobs %v; the damaged %s must not go, the sound %s must", got, blobs, srcBlobs[0], srcBlobs[1])
	}
	s2, im2 := newStore(t)
	again := mustPull(t, s2, im2, "oci:"+out+":1", image.PullOptions{})
	if again.ID != rec.ID {
		t.Errorf("pushed image ID %s, want %s", again.ID, rec.ID)
	}
}

// TestKeptBlobsGoWithTheirLayers: removing an image and collecting its
// layers removes their kept blobs; a blob another image's layer keeps stays.
func TestKeptBlobsGoWithTheirLayers(t *testing.T) {
	skipUnlessRoot(t)
	s, im := newStore(t)
	base, top := keptLayers(t, false)
	src := registrytest.OCIImage(t, nil, base, top)
	_, blobs := manifestOf(t, src)
	// other has the same top blob over another base: another layer (chain
	// ID) that keeps the same blob.
	other := registrytest.OCIImage(t, nil, gzipLayer(t, tarOf(t, dir("x/"), file("x/y", "z"))), top)
	_, otherBlobs := manifestOf(t, other)
	layoutDir := filepath.Join(t.TempDir(), "src")
	rec := mustPull(t, s, im, registrytest.WriteLayout(t, layoutDir, src, "1"), image.PullOptions{Name: "kept:1"})
	mustPull(t, s, im, registrytest.WriteLayout(t, layoutDir, other, "2"), image.PullOptions{Name: "other:1"})
	blobPath := func(d string) string {
		return filepath.Join(s.Root(), "blobs", "sha256", digest.Digest(d).Encoded())
	}
	// A gc of unreferenced blobs leaves every kept blob of a stored layer.
	if _, err := s.RemoveBlobs(map[digest.Digest]bool{}); err != nil {
		t.Fatal(err)
	}
	for _, b := range append(slices.Clone(blobs), otherBlobs...) {
		if _, err := os.Stat(blobPath(b)); err != nil {
			t.Errorf("kept blob %s after RemoveBlobs: %v", b, err)
		}
	}
	if _, _, err := im.Remove("kept:1", false); err != nil {
		t.Fatal(err)
	}
	keep := func() ([]digest.Digest, error) {
		var tops []digest.Digest
		recs, err := im.List()
		for _, r := range recs {
			tops = append(tops, r.Top())
		}
		return tops, err
	}
	removed, err := s.GC(keep, rec.ChainIDs)
	if err != nil || len(removed) != 2 {
		t.Fatalf("gc: removed %d layers, %v", len(removed), err)
	}
	if _, err := os.Stat(blobPath(blobs[0])); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("kept blob %s after its layer went: %v", blobs[0], err)
	}
	for _, b := range otherBlobs {
		if _, err := os.Stat(blobPath(b)); err != nil {
			t.Errorf("the other image's kept blob %s: %v", b, err)
		}
	}
}

// TestPushKeepsUmociManifest: umoci writes manifests without the optional
// mediaType field; a pulled one is still pushed as it came.
func TestPushKeepsUmociManifest(t *testing.T) {
	skipUnlessRoot(t)
	layoutDir := registrytest.MakeImage(t, "busybox")
	idx, err := layout.ImageIndexFromPath(layoutDir)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil || len(im.Manifests) != 1 {
		t.Fatalf("busybox layout: %v", err)
	}
	want := digest.Digest(im.Manifests[0].Digest.String())
	s, records := newStore(t)
	mustPull(t, s, records, "oci:"+layoutDir+":latest", image.PullOptions{Name: "busybox:1"})
	out := filepath.Join(t.TempDir(), "out")
	if got := mustPush(t, s, records, "busybox:1", "oci:"+out+":1", image.PushOptions{}); got != want {
		t.Errorf("pushed manifest %s, want the pulled %s", got, want)
	}
}
