package image_test

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	digest "github.com/opencontainers/go-digest"

	"github.com/layerctl/layerctl/pkg/image"
	"github.com/layerctl/layerctl/pkg/image/registrytest"
)

// A multi-platform image (linux/amd64 and linux/arm64) as a registry index,
// as an OCI layout holding that index, and as an OCI layout whose index.json
// lists both images under one tag: the default platform picks this machine's
// image, an explicit one the other, a missing one fails and stores nothing.
func TestPullPlatform(t *testing.T) {
	archImage := func(arch string) v1.Image {
		return registrytest.OCIImage(t, func(cf *v1.ConfigFile) { cf.Architecture = arch },
			gzipLayer(t, tarOf(t, file("arch", arch+"\n"))))
	}
	amd, arm := archImage("amd64"), archImage("arm64")
	ids := map[string]digest.Digest{"amd64": configDigest(t, amd), "arm64": configDigest(t, arm)}
	platform := func(arch string) v1.Platform { return v1.Platform{OS: "linux", Architecture: arch} }
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
	)

	reg := startRegistry(t)
	type source struct{ name, src string }
	sources := []source{{"registry", reg.pushIndex(t, "multi:1", idx)}}

	nested := filepath.Join(t.TempDir(), "nested")
	if err := registrytest.LayoutPath(t, nested).AppendIndex(idx, layout.WithAnnotations(map[string]string{registrytest.RefNameAnnotation: "latest"})); err != nil {
		t.Fatal(err)
	}
	sources = append(sources, source{"oci layout, nested index", "oci:" + nested + ":latest"})

	flat := filepath.Join(t.TempDir(), "flat")
	registrytest.WriteLayout(t, flat, amd, "latest", layout.WithPlatform(platform("amd64")))
	registrytest.WriteLayout(t, flat, arm, "latest", layout.WithPlatform(platform("arm64")))
	sources = append(sources, source{"oci layout, flat", "oci:" + flat + ":latest"})

	for _, tc := range []struct {
		name     string
		platform string // "" for the default
		want     string // architecture of the image wanted; "" for an error
	}{
		{name: "default", want: runtime.GOARCH},
		{name: "linux/arm64", platform: "linux/arm64", want: "arm64"},
		{name: "linux/amd64", platform: "linux/amd64", want: "amd64"},
		{name: "missing platform", platform: "linux/s390x"},
		{name: "missing os", platform: "windows/amd64"},
	} {
		for _, sc := range sources {
			src := sc.src
			t.Run(tc.name+"/"+sc.name, func(t *testing.T) {
				if tc.want != "" && ids[tc.want] == "" {
					t.Skipf("no image for %s in the test index", tc.want)
				}
				var opts image.PullOptions
				if tc.platform != "" {
					p, err := image.ParsePlatform(tc.platform)
					if err != nil {
						t.Fatal(err)
					}
					opts.Platform = p
				}
				s, im := newStore(t)
				rec, err := pull(t, s, im, src, opts)
				if tc.want == "" {
					if err == nil {
						t.Fatalf("pull %s for %s: no error, got image %s", src, tc.platform, rec.ID)
					}
					if !strings.Contains(err.Error(), tc.platform) {
						t.Errorf("error %q does not name the platform %s", err, tc.platform)
					}
					checkNothingOf(t, s, im, append(chainIDsOf(t, amd), chainIDsOf(t, arm)...), ids["amd64"])
					checkNothingOf(t, s, im, nil, ids["arm64"])
					if len(listedChainIDs(t, s)) != 0 {
						t.Errorf("layers %v after a failed pull", listedChainIDs(t, s))
					}
					return
				}
				if err != nil {
					t.Fatalf("pull %s: %v", src, err)
				}
				if rec.ID != ids[tc.want] {
					t.Fatalf("pulled image %s, want the %s image %s", rec.ID, tc.want, ids[tc.want])
				}
				img := map[string]v1.Image{"amd64": amd, "arm64": arm}[tc.want]
				checkPulled(t, s, im, rec, img, "")
				checkFile(t, s, rec.ChainIDs[0], "arch", tc.want+"\n")
			})
		}
	}
}

// A single image (no index) is pulled whatever its platform by default, but
// an explicit --platform it does not match fails and stores nothing.
func TestPullSingleImagePlatform(t *testing.T) {
	img := registrytest.OCIImage(t, func(cf *v1.ConfigFile) { cf.OS, cf.Architecture = "linux", "amd64" },
		gzipLayer(t, tarOf(t, file("a", "a\n"))))
	dir := filepath.Join(t.TempDir(), "single")
	registrytest.WriteLayout(t, dir, img, "latest")
	for _, tc := range []struct {
		platform string
		ok       bool
	}{{"", true}, {"linux/amd64", true}, {"linux/arm64", false}, {"windows/amd64", false}} {
		t.Run(strings.ReplaceAll(tc.platform+"_", "/", "-"), func(t *testing.T) {
			var opts image.PullOptions
			if tc.platform != "" {
				p, err := image.ParsePlatform(tc.platform)
				if err != nil {
					t.Fatal(err)
				}
				opts.Platform = p
			}
			s, im := newStore(t)
			_, err := pull(t, s, im, "oci:"+dir+":latest", opts)
			if tc.ok != (err == nil) {
				t.Fatalf("pull for %q: err = %v, want ok=%v", tc.platform, err, tc.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "linux/amd64") {
				t.Errorf("error %q does not say what the image is", err)
			}
			if recs, _ := im.List(); !tc.ok && len(recs) != 0 {
				t.Errorf("a refused pull stored %d images", len(recs))
			}
		})
	}
}
