package image_test

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/layerctl/layerctl/pkg/image"
	"github.com/layerctl/layerctl/pkg/image/registrytest"
)

// A layout whose ref.names are full references (as skopeo writes them), in a
// directory whose path holds colons: oci:DIR:REF matches REF against ref.name
// exactly, and a pull without NAME records the ref.name.
func TestPullOCILayoutRefName(t *testing.T) {
	one := registrytest.OCIImage(t, nil, gzipLayer(t, baseTar(t)), gzipLayer(t, appTar(t, "hello\n")))
	other := registrytest.OCIImage(t, nil, gzipLayer(t, baseTar(t)), gzipLayer(t, appTar(t, "other\n")))
	const busybox = "docker.io/library/busybox:1.36"
	single := filepath.Join(t.TempDir(), "c:", "sko:peo")
	if err := os.MkdirAll(single, 0o755); err != nil {
		t.Fatal(err)
	}
	registrytest.WriteLayout(t, single, one, busybox)
	two := filepath.Join(t.TempDir(), "two:images")
	registrytest.WriteLayout(t, two, one, "example.com:5000/team/a:1")
	registrytest.WriteLayout(t, two, other, "example.com:5000/team/b:2")

	for _, tc := range []struct {
		name, src string
		img       v1.Image
		wantName  string
		hello     string
		wantErr   string
	}{
		{name: "full reference", src: "oci:" + single + ":" + busybox, img: one, wantName: busybox, hello: "hello\n"},
		{name: "no reference, one image", src: "oci:" + single, img: one, wantName: busybox, hello: "hello\n"},
		{name: "tag alone does not match", src: "oci:" + single + ":1.36", wantErr: `no image tagged "1.36"`},
		{name: "short name does not match", src: "oci:" + single + ":busybox:1.36", wantErr: `no image tagged "busybox:1.36"`},
		{name: "one of two, port in reference", src: "oci:" + two + ":example.com:5000/team/b:2", img: other,
			wantName: "example.com:5000/team/b:2", hello: "other\n"},
		{name: "two, none named", src: "oci:" + two, wantErr: "oci:DIR:TAG"},
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
			refs, err := im.Refs()
			if err != nil {
				t.Fatal(err)
			}
			if len(refs) != 1 || refs[tc.wantName] != rec.ID {
				t.Errorf("names %v, want only %s", refs, tc.wantName)
			}
			checkFile(t, s, rec.ChainIDs[1], "app/hello", tc.hello)
		})
	}
}

// A layout's manifest (and a nested index, and the manifests it lists) must
// have the digest the index that lists it says; a changed one fails the pull
// before anything is stored.
func TestPullOCILayoutManifestDigest(t *testing.T) {
	img := registrytest.OCIImage(t, nil, gzipLayer(t, baseTar(t)), gzipLayer(t, appTar(t, "hello\n")))
	manifestDigest := func() string {
		h, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return h.String()
	}()
	nested := mutate.IndexMediaType(mutate.AppendManifests(empty.Index, mutate.IndexAddendum{
		Add:        img,
		Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: runtime.GOARCH}},
	}), types.OCIImageIndex)
	nestedDigest, err := nested.Digest()
	if err != nil {
		t.Fatal(err)
	}
	addNewline := func(b []byte) []byte { return append(b, '\n') }

	for _, tc := range []struct {
		name    string
		index   bool   // the layout lists a nested index, not the image
		rewrite string // blob to change ("" none)
		wantErr string
	}{
		{name: "image intact", rewrite: ""},
		{name: "nested index intact", index: true, rewrite: ""},
		{name: "image manifest changed", rewrite: manifestDigest, wantErr: "manifest has digest"},
		{name: "nested index changed", index: true, rewrite: nestedDigest.String(), wantErr: "index has digest"},
		{name: "manifest in nested index changed", index: true, rewrite: manifestDigest, wantErr: "manifest has digest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "layout")
			if tc.index {
				p := registrytest.LayoutPath(t, dir)
				if err := p.AppendIndex(nested, layout.WithAnnotations(map[string]string{registrytest.RefNameAnnotation: "latest"})); err != nil {
					t.Fatal(err)
				}
			} else {
				registrytest.WriteLayout(t, dir, img, "latest")
			}
			if tc.rewrite != "" {
				rewriteLayoutBlob(t, dir, tc.rewrite, addNewline)
			}
			s, im := newStore(t)
			rec, err := pull(t, s, im, "oci:"+dir, image.PullOptions{})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("pull: %v", err)
				}
				checkPulled(t, s, im, rec, img, "layout:latest")
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "the index says "+tc.rewrite) {
				t.Fatalf("pull: err = %v, want %q and the expected digest %s", err, tc.wantErr, tc.rewrite)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is more than one line", err)
			}
			checkNothingOf(t, s, im, chainIDsOf(t, img), configDigest(t, img))
			if got := listedChainIDs(t, s); len(got) != 0 {
				t.Errorf("layers %v stored", got)
			}
			if _, err := s.Blob(configDigest(t, img)); err == nil {
				t.Error("config blob stored")
			}
		})
	}
}

// An invalid NAME fails the pull before the registry is asked anything.
func TestPullBadName(t *testing.T) {
	var requests atomic.Int64
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		requests.Add(1)
		inner.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	ref, err := name.ParseReference(host+"/app:1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, registrytest.OCIImage(t, nil, gzipLayer(t, baseTar(t)))); err != nil {
		t.Fatal(err)
	}

	for _, bad := range []string{"UPPER:tag", "a b", "x:", "a/", "a:-x", "app@sha256:" + strings.Repeat("0", 64)} {
		t.Run(bad, func(t *testing.T) {
			s, im := newStore(t)
			before := requests.Load()
			_, err := pull(t, s, im, ref.String(), image.PullOptions{Name: bad})
			if err == nil || !strings.Contains(err.Error(), "image name") {
				t.Fatalf("pull with NAME %q: err = %v, want an image name error", bad, err)
			}
			if n := requests.Load() - before; n != 0 {
				t.Errorf("%d registry requests before the bad name was refused", n)
			}
			if all, _ := im.List(); len(all) != 0 || len(listedChainIDs(t, s)) != 0 {
				t.Errorf("failed pull left %d images, layers %v", len(all), listedChainIDs(t, s))
			}
		})
	}
}

// docker-archive:FILE[:NAME[:TAG]] finds FILE by existence, whatever its
// name: no .tar needed, colons allowed.
func TestPullDockerArchivePaths(t *testing.T) {
	img := registrytest.DockerImage(t, nil, dockerLayer(t, baseTar(t)), dockerLayer(t, appTar(t, "hello\n")))
	other := registrytest.DockerImage(t, nil, dockerLayer(t, baseTar(t)), dockerLayer(t, appTar(t, "other\n")))
	tmp := t.TempDir()
	tag, otherTag := mustTag(t, "example.com/team/app:v2"), mustTag(t, "example.com/team/other:latest")
	write := func(file string) string {
		path := filepath.Join(tmp, file)
		if err := tarball.MultiRefWriteToFile(path, map[name.Reference]v1.Image{tag: img, otherTag: other}); err != nil {
			t.Fatal(err)
		}
		return path
	}
	noExt := write("images")
	colons := write("a.tar:b.tar")

	for _, tc := range []struct {
		name, src string
		img       v1.Image
		wantName  string
		wantErr   string
	}{
		{name: "no .tar, name and tag", src: noExt + ":example.com/team/app:v2", img: img, wantName: "example.com/team/app:v2"},
		{name: "no .tar, name without tag", src: noExt + ":example.com/team/other", img: other, wantName: "example.com/team/other:latest"},
		{name: ".tar: in the file name", src: colons + ":example.com/team/other:latest", img: other, wantName: "example.com/team/other:latest"},
		{name: ".tar: in the file name, none named", src: colons, wantErr: "holds 2 images"},
		{name: "name not in archive", src: noExt + ":example.com/team/none:v1", wantErr: "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, im := newStore(t)
			rec, err := pull(t, s, im, "docker-archive:"+tc.src, image.PullOptions{})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("pull: err = %v, want %q", err, tc.wantErr)
				}
				if all, _ := im.List(); len(all) != 0 || len(listedChainIDs(t, s)) != 0 {
					t.Errorf("failed pull left %d images, layers %v", len(all), listedChainIDs(t, s))
				}
				return
			}
			if err != nil {
				t.Fatalf("pull: %v", err)
			}
			checkPulled(t, s, im, rec, tc.img, tc.wantName)
		})
	}
}
