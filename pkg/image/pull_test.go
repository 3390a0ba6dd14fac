package image_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/layerctl/layerctl/pkg/image"
	"github.com/layerctl/layerctl/pkg/image/registrytest"
)

// wantFile is a file a pulled layer (by index, base first) must hold.
type wantFile struct {
	layer      int
	path, body string
}

// The two-layer test image most tests use: a base with /etc/os-release and
// an app layer with /app/hello.
func baseTar(t testing.TB) []byte {
	return tarOf(t, dir("etc"), file("etc/os-release", "ID=test\n"))
}

func appTar(t testing.TB, hello string) []byte {
	return tarOf(t, dir("app"), file("app/hello", hello))
}

var appFiles = []wantFile{{0, "etc/os-release", "ID=test\n"}, {1, "app/hello", "hello\n"}}

func TestPullRegistry(t *testing.T) {
	reg := startRegistry(t)
	docker := registrytest.DockerImage(t, nil, dockerLayer(t, baseTar(t)), dockerLayer(t, appTar(t, "hello\n")))
	oci := registrytest.OCIImage(t, nil, gzipLayer(t, baseTar(t)), gzipLayer(t, appTar(t, "hello\n")))
	rnd, err := random.Image(512, 3)
	if err != nil {
		t.Fatal(err)
	}
	reg.push(t, "app:1", docker)
	reg.push(t, "oci/app:v1", oci)
	reg.push(t, "random:latest", rnd)
	ociDigest, err := oci.Digest()
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name      string
		prefix    string // before "HOST/"
		src       string // after "HOST/"
		img       v1.Image
		mediaType types.MediaType
		opts      image.PullOptions
		wantName  string   // "" for none
		notNames  []string // names that must not resolve
		files     []wantFile
	}{
		{name: "docker schema 2", src: "app:1", img: docker, mediaType: types.DockerManifestSchema2,
			wantName: reg.host + "/app:1", files: appFiles},
		{name: "oci manifest", src: "oci/app:v1", img: oci, mediaType: types.OCIManifestSchema1,
			wantName: reg.host + "/oci/app:v1", files: appFiles},
		{name: "docker:// prefix", prefix: "docker://", src: "app:1", img: docker, mediaType: types.DockerManifestSchema2,
			wantName: reg.host + "/app:1", files: appFiles},
		{name: "name option", src: "app:1", img: docker, mediaType: types.DockerManifestSchema2,
			opts: image.PullOptions{Name: "example.com/mine:v1"}, wantName: "example.com/mine:v1",
			notNames: []string{reg.host + "/app:1"}, files: appFiles},
		{name: "by digest records no name", src: "oci/app@" + ociDigest.String(), img: oci,
			mediaType: types.OCIManifestSchema1, files: appFiles},
		{name: "random image", src: "random:latest", img: rnd, mediaType: types.DockerManifestSchema2,
			wantName: reg.host + "/random:latest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, im := newStore(t)
			src := tc.prefix + reg.host + "/" + tc.src
			rec := mustPull(t, s, im, src, tc.opts)
			checkPulled(t, s, im, rec, tc.img, tc.wantName)
			if rec.Source != src {
				t.Errorf("record source %q, want %q", rec.Source, src)
			}
			if rec.ManifestMediaType != string(tc.mediaType) {
				t.Errorf("manifest media type %q, want %q", rec.ManifestMediaType, tc.mediaType)
			}
			m, err := tc.img.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			if len(rec.Blobs) != len(m.Layers) {
				t.Fatalf("record has %d blobs, the manifest %d layers", len(rec.Blobs), len(m.Layers))
			}
			for i, b := range rec.Blobs {
				if b.Digest.String() != m.Layers[i].Digest.String() || b.Size != m.Layers[i].Size ||
					b.MediaType != string(m.Layers[i].MediaType) {
					t.Errorf("record blob %d = %+v, want %+v", i, b, m.Layers[i])
				}
			}
			for _, f := range tc.files {
				checkFile(t, s, rec.ChainIDs[f.layer], f.path, f.body)
			}
			names, err := im.Names(rec.ID)
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantName == "" && len(names) != 0 {
				t.Errorf("names %v, want none", names)
			}
			if tc.wantName != "" && !slices.Equal(names, []string{image.NormalizeName(tc.wantName)}) {
				t.Errorf("names %v, want [%s]", names, image.NormalizeName(tc.wantName))
			}
			for _, n := range tc.notNames {
				if r, err := im.Resolve(n); err == nil {
					t.Errorf("%s resolves to %s, want no such name", n, r.ID)
				}
			}
		})
	}
}

// A name or tag the registry does not have fails and records nothing.
func TestPullRegistryMissing(t *testing.T) {
	reg := startRegistry(t)
	reg.push(t, "app:1", registrytest.DockerImage(t, nil, dockerLayer(t, baseTar(t))))
	for _, src := range []string{"app:2", "nothing:1"} {
		s, im := newStore(t)
		_, err := pull(t, s, im, reg.host+"/"+src, image.PullOptions{})
		if err == nil {
			t.Fatalf("pull %s: no error", src)
		}
		if all, _ := im.List(); len(all) != 0 || len(listedChainIDs(t, s)) != 0 {
			t.Errorf("pull %s: store holds %d images, %v layers", src, len(all), listedChainIDs(t, s))
		}
		checkTmpEmpty(t, s)
	}
}

func TestPullOCILayout(t *testing.T) {
	one := registrytest.OCIImage(t, nil, gzipLayer(t, baseTar(t)), gzipLayer(t, appTar(t, "hello\n")))
	other := registrytest.OCIImage(t, nil, gzipLayer(t, baseTar(t)), gzipLayer(t, appTar(t, "other\n")))
	single := filepath.Join(t.TempDir(), "app")
	registrytest.WriteLayout(t, single, one, "latest")
	two := filepath.Join(t.TempDir(), "two")
	registrytest.WriteLayout(t, two, one, "latest")
	registrytest.WriteLayout(t, two, other, "b")

	for _, tc := range []struct {
		name, src string
		img       v1.Image
		wantName  string
		hello     string
		wantErr   string
	}{
		{name: "tag latest", src: "oci:" + single + ":latest", img: one, wantName: "app:latest", hello: "hello\n"},
		{name: "no tag, one image", src: "oci:" + single, img: one, wantName: "app:latest", hello: "hello\n"},
		{name: "no tag picks latest", src: "oci:" + two, img: one, wantName: "two:latest", hello: "hello\n"},
		{name: "tag b", src: "oci:" + two + ":b", img: other, wantName: "two:b", hello: "other\n"},
		{name: "unknown tag", src: "oci:" + two + ":nope", wantErr: `no image tagged "nope"`},
		{name: "not a layout", src: "oci:" + t.TempDir() + ":latest", wantErr: "open OCI layout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, im := newStore(t)
			rec, err := pull(t, s, im, tc.src, image.PullOptions{})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("pull %s: err = %v, want %q", tc.src, err, tc.wantErr)
				}
				if all, _ := im.List(); len(all) != 0 || len(listedChainIDs(t, s)) != 0 {
					t.Errorf("failed pull left %d images, layers %v", len(all), listedChainIDs(t, s))
				}
				return
			}
			if err != nil {
				t.Fatalf("pull %s: %v", tc.src, err)
			}
			checkPulled(t, s, im, rec, tc.img, tc.wantName)
			if rec.ManifestMediaType != string(types.OCIManifestSchema1) {
				t.Errorf("manifest media type %q", rec.ManifestMediaType)
			}
			checkFile(t, s, rec.ChainIDs[0], "etc/os-release", "ID=test\n")
			checkFile(t, s, rec.ChainIDs[1], "app/hello", tc.hello)
		})
	}
}

// A layout with several images and no "latest" asks for a tag.
func TestPullOCILayoutAmbiguous(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "two")
	registrytest.WriteLayout(t, dir, registrytest.OCIImage(t, nil, gzipLayer(t, baseTar(t))), "a")
	registrytest.WriteLayout(t, dir, registrytest.OCIImage(t, nil, gzipLayer(t, appTar(t, "x"))), "b")
	s, im := newStore(t)
	_, err := pull(t, s, im, "oci:"+dir, image.PullOptions{})
	if err == nil || !strings.Contains(err.Error(), "oci:DIR:TAG") {
		t.Fatalf("err = %v, want a request to name a tag", err)
	}
	if len(listedChainIDs(t, s)) != 0 {
		t.Errorf("layers %v after a failed pull", listedChainIDs(t, s))
	}
}

func TestPullDockerArchive(t *testing.T) {
	img := registrytest.DockerImage(t, nil, dockerLayer(t, baseTar(t)), dockerLayer(t, appTar(t, "hello\n")))
	other := registrytest.DockerImage(t, nil, dockerLayer(t, baseTar(t)), dockerLayer(t, appTar(t, "other\n")))
	tmp := t.TempDir()
	singleFile := filepath.Join(tmp, "single.tar")
	tag := mustTag(t, "example.com/team/app:v2")
	if err := tarball.WriteToFile(singleFile, tag, img); err != nil {
		t.Fatal(err)
	}
	multiFile := filepath.Join(tmp, "multi.tar")
	otherTag := mustTag(t, "example.com/team/other:v1")
	if err := tarball.MultiRefWriteToFile(multiFile, map[name.Reference]v1.Image{tag: img, otherTag: other}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, src string
		opts      image.PullOptions
		img       v1.Image
		wantName  string
		hello     string
		wantErr   bool
	}{
		{name: "name from RepoTags", src: "docker-archive:" + singleFile, img: img,
			wantName: "example.com/team/app:v2", hello: "hello\n"},
		{name: "name in the location", src: "docker-archive:" + singleFile + ":example.com/team/app:v2", img: img,
			wantName: "example.com/team/app:v2", hello: "hello\n"},
		{name: "name option wins", src: "docker-archive:" + singleFile, opts: image.PullOptions{Name: "mine:1"},
			img: img, wantName: "mine:1", hello: "hello\n"},
		{name: "one of several", src: "docker-archive:" + multiFile + ":example.com/team/other:v1", img: other,
			wantName: "example.com/team/other:v1", hello: "other\n"},
		{name: "several, none named", src: "docker-archive:" + multiFile, wantErr: true},
		{name: "missing file", src: "docker-archive:" + filepath.Join(tmp, "none.tar"), wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, im := newStore(t)
			rec, err := pull(t, s, im, tc.src, tc.opts)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("pull %s: no error", tc.src)
				}
				if all, _ := im.List(); len(all) != 0 || len(listedChainIDs(t, s)) != 0 {
					t.Errorf("failed pull left %d images, layers %v", len(all), listedChainIDs(t, s))
				}
				checkTmpEmpty(t, s)
				return
			}
			if err != nil {
				t.Fatalf("pull %s: %v", tc.src, err)
			}
			checkPulled(t, s, im, rec, tc.img, tc.wantName)
			if rec.Manifest != "" || rec.Blobs != nil {
				t.Errorf("archive record has manifest %q, blobs %v; want none", rec.Manifest, rec.Blobs)
			}
			checkFile(t, s, rec.ChainIDs[0], "etc/os-release", "ID=test\n")
			checkFile(t, s, rec.ChainIDs[1], "app/hello", tc.hello)
		})
	}
}

func mustTag(t testing.TB, s string) name.Tag {
	t.Helper()
	tag, err := name.NewTag(s)
	if err != nil {
		t.Fatal(err)
	}
	return tag
}
