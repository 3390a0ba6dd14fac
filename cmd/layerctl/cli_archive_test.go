package main

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	digest "github.com/opencontainers/go-digest"

	"github.com/layerctl/layerctl/pkg/image/registrytest"
)

// inspected is the part of `inspect` these tests look at.
type inspected struct {
	ID       string `json:"Id"`
	RepoTags []string
	RootFS   struct{ Layers []digest.Digest }
	ChainIDs []digest.Digest
}

func inspectJSON(t *testing.T, root, ref string) inspected {
	t.Helper()
	var got inspected
	out := mustRun(t, root, "inspect", ref)
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("inspect %s: %v\n%s", ref, err, out)
	}
	return got
}

func TestCLIDockerArchive(t *testing.T) {
	t.Parallel()
	img := newImage(t, baseLayer(t, 6), appLayer(t, "archive"))
	id, diffIDs, chainIDs := imageIDs(t, img)
	tag, err := name.NewTag("example.com/arch/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "app.tar")
	if err := tarball.WriteToFile(archive, tag, img); err != nil {
		t.Fatal(err)
	}

	t.Run("RepoTags name", func(t *testing.T) {
		root := newRoot(t)
		if got := pullID(t, root, "docker-archive:"+archive); got != id {
			t.Errorf("pull printed %s, want %s", got, id)
		}
		got := inspectJSON(t, root, "example.com/arch/app:v1")
		if got.ID != id || !slices.Equal(got.RepoTags, []string{"example.com/arch/app:v1"}) ||
			!slices.Equal(got.RootFS.Layers, diffIDs) || !slices.Equal(got.ChainIDs, chainIDs) {
			t.Errorf("inspect: %+v, want ID %s named example.com/arch/app:v1", got, id)
		}
		rows := tableRows(mustRun(t, root, "images"))
		if len(rows) != 2 || rows[1][0] != "example.com/arch/app" || rows[1][1] != "v1" {
			t.Errorf("images: %q", rows)
		}
		verifyOK(t, root, chainIDs, "example.com/arch/app:v1")
	})

	t.Run("named image and NAME", func(t *testing.T) {
		root := newRoot(t)
		pullID(t, root, "docker-archive:"+archive+":example.com/arch/app:v1", "renamed:2")
		got := inspectJSON(t, root, "renamed:2")
		if got.ID != id || !slices.Equal(got.RepoTags, []string{"renamed:2"}) {
			t.Errorf("inspect: %+v, want ID %s named renamed:2", got, id)
		}
	})

	t.Run("two images", func(t *testing.T) {
		other := newImage(t, baseLayer(t, 6), appLayer(t, "other"))
		otherID, _, otherChain := imageIDs(t, other)
		otherTag, _ := name.NewTag("example.com/arch/other:v2")
		two := filepath.Join(t.TempDir(), "two.tar")
		if err := tarball.MultiWriteToFile(two, map[name.Tag]v1.Image{tag: img, otherTag: other}); err != nil {
			t.Fatal(err)
		}
		root := newRoot(t)
		before := snapshot(t, root)
		_, stderr, code := run(t, root, "pull", "docker-archive:"+two)
		checkOneLineError(t, stderr, code)
		checkUnchanged(t, root, before)
		if got := pullID(t, root, "docker-archive:"+two+":example.com/arch/other:v2"); got != otherID {
			t.Errorf("pull of the second image printed %s, want %s", got, otherID)
		}
		if got := inspectJSON(t, root, "example.com/arch/other:v2"); got.ID != otherID {
			t.Errorf("inspect example.com/arch/other:v2: %+v", got)
		}
		verifyOK(t, root, otherChain, otherID)
	})

	// An archive written by skopeo (uncompressed layers, its own manifest.json).
	t.Run("skopeo", func(t *testing.T) {
		dir := writeLayout(t, img, "latest")
		skopeoArchive := filepath.Join(t.TempDir(), "skopeo.tar")
		registrytest.Skopeo(t, "copy", "-q", "oci:"+dir+":latest", "docker-archive:"+skopeoArchive+":example.com/skopeo/app:v3")
		root := newRoot(t)
		got := pullID(t, root, "docker-archive:"+skopeoArchive)
		in := inspectJSON(t, root, "example.com/skopeo/app:v3")
		if in.ID != got || !slices.Equal(in.RepoTags, []string{"example.com/skopeo/app:v3"}) {
			t.Errorf("inspect: %+v, want ID %s named example.com/skopeo/app:v3", in, got)
		}
		if !slices.Equal(in.RootFS.Layers, diffIDs) {
			t.Errorf("skopeo's archive gave layers %v, want %v", in.RootFS.Layers, diffIDs)
		}
		verifyOK(t, root, chainIDs, "example.com/skopeo/app:v3")
	})
}

// A pull from a real registry (Debian's docker-registry) of an image pushed
// by skopeo; a second, warm pull fetches no layer and gives the same ID.
func TestCLIPullRealRegistry(t *testing.T) {
	t.Parallel()
	host := registrytest.Start(t)
	dir := registrytest.MakeImage(t, "busybox")
	registrytest.PushLayout(t, dir, "latest", host, "busybox:latest")
	want := layoutImageID(t, dir)

	root := newRoot(t)
	ref := host + "/busybox:latest"
	start := time.Now()
	id := pullID(t, root, "--insecure", ref)
	cold := time.Since(start)
	if id != want {
		t.Errorf("pull printed %s, the layout's config digest is %s", id, want)
	}
	in := inspectJSON(t, root, ref)
	if in.ID != id || !slices.Equal(in.RepoTags, []string{ref}) || len(in.ChainIDs) != 1 {
		t.Errorf("inspect %s: %+v", ref, in)
	}
	verifyOK(t, root, in.ChainIDs, ref)

	start = time.Now()
	again := pullID(t, root, "--insecure", ref)
	warm := time.Since(start)
	t.Logf("cold pull %v, warm pull %v", cold, warm)
	if again != id {
		t.Errorf("warm pull printed %s, the first %s", again, id)
	}
	if warm > 5*time.Second {
		t.Errorf("warm pull took %v", warm)
	}
	if ls := listLayers(t, root); len(ls) != 1 || ls[0].ChainID != in.ChainIDs[0] || ls[0].Refs != 1 {
		t.Errorf("layers after two pulls: %+v", ls)
	}
}

// layoutImageID is the config digest of the image tagged latest in an OCI layout.
func layoutImageID(t *testing.T, dir string) string {
	t.Helper()
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range m.Manifests {
		if d.Annotations["org.opencontainers.image.ref.name"] == "latest" {
			img, err := idx.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			h, err := img.ConfigName()
			if err != nil {
				t.Fatal(err)
			}
			return h.String()
		}
	}
	t.Fatalf("%s has no image tagged latest", dir)
	return ""
}
