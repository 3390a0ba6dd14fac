package image_test

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/image"
	"github.com/layerctl/layerctl/pkg/image/registrytest"
)

// padded is valid JSON b followed by spaces up to n bytes: still the same
// document, only too large to read.
func padded(b []byte, n int) []byte {
	return append(bytes.Clone(b), bytes.Repeat([]byte(" "), n-len(b))...)
}

// handLayout writes an OCI layout by hand: the blobs, and index.json
// listing manifest (as "latest").
func handLayout(t *testing.T, dir string, manifest v1.Descriptor, blobs ...[]byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, b := range blobs {
		if err := os.WriteFile(filepath.Join(dir, "blobs", "sha256", digest.FromBytes(b).Encoded()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	manifest.Annotations = map[string]string{registrytest.RefNameAnnotation: "latest"}
	write(t, filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`))
	write(t, filepath.Join(dir, "index.json"), rawIndex(t, manifest))
}

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// dockerArchive writes a "docker save" archive by hand: manifest.json (its
// entry's Config and Layers name the files), then the files in order. A
// file whose name starts with "->" is a symlink to the rest of its name.
func dockerArchive(t *testing.T, path string, files ...archiveFile) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(f.body)), ModTime: epoch}
		if f.link != "" {
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, f.link, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	write(t, path, buf.Bytes())
}

type archiveFile struct {
	name string
	body []byte
	link string
}

func archiveManifest(t *testing.T, config string, layers ...string) []byte {
	t.Helper()
	b, err := json.Marshal([]map[string]any{{"Config": config, "RepoTags": []string{"a:1"}, "Layers": layers}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// An OCI layout or a docker archive whose index.json, manifest, config or
// manifest.json is (or claims to be) larger than 4 MiB, or is no regular
// file, fails to pull with a clear error and leaves nothing in the store,
// which pulls a good image afterwards.
func TestPullLocalLimits(t *testing.T) {
	layerTar := baseTar(t)
	l0 := gzipLayer(t, layerTar)
	good := registrytest.OCIImage(t, nil, l0)
	goodSrc := registrytest.WriteLayout(t, filepath.Join(t.TempDir(), "good"), good, "latest")
	gz := compressedBytes(t, l0)
	config, err := good.RawConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	layerDesc := descriptorOf(t, types.OCILayer, gz)
	bigConfig := padded(config, smallLimit+1)
	big := smallLimit + 1

	// layoutWith writes a layout of good's layer under the given config and
	// manifest descriptors (edit changes the manifest's descriptor).
	layoutWith := func(t *testing.T, config []byte, configDesc v1.Descriptor, pad int, edit func(*v1.Descriptor)) string {
		manifest := rawManifest(t, configDesc, layerDesc)
		if pad > 0 {
			manifest = padded(manifest, pad)
		}
		md := descriptorOf(t, types.OCIManifestSchema1, manifest)
		if edit != nil {
			edit(&md)
		}
		dir := filepath.Join(t.TempDir(), "bad")
		handLayout(t, dir, md, gz, config, manifest)
		return dir
	}
	configDesc := descriptorOf(t, types.OCIConfigJSON, config)
	archive := func(t *testing.T, files ...archiveFile) string {
		path := filepath.Join(t.TempDir(), "bad.tar")
		dockerArchive(t, path, files...)
		return "docker-archive:" + path
	}

	for _, tc := range []struct {
		name    string
		src     func(t *testing.T) string
		badID   digest.Digest
		wantErr []string
	}{
		{name: "index.json over 4 MiB", badID: configDigest(t, good), wantErr: []string{"index.json", "4 MiB"},
			src: func(t *testing.T) string {
				dir := layoutWith(t, config, configDesc, 0, nil)
				b, err := os.ReadFile(filepath.Join(dir, "index.json"))
				if err != nil {
					t.Fatal(err)
				}
				write(t, filepath.Join(dir, "index.json"), padded(b, big))
				return "oci:" + dir
			}},
		{name: "index.json is a FIFO", badID: configDigest(t, good), wantErr: []string{"index.json", "not a regular file"},
			src: func(t *testing.T) string {
				dir := layoutWith(t, config, configDesc, 0, nil)
				os.Remove(filepath.Join(dir, "index.json"))
				if err := unix.Mkfifo(filepath.Join(dir, "index.json"), 0o644); err != nil {
					t.Fatal(err)
				}
				return "oci:" + dir
			}},
		{name: "manifest claims 300 MiB", badID: configDigest(t, good), wantErr: []string{"manifest", "4 MiB"},
			src: func(t *testing.T) string {
				return "oci:" + layoutWith(t, config, configDesc, 0, func(d *v1.Descriptor) { d.Size = 300 << 20 })
			}},
		{name: "manifest file over 4 MiB, claims less", badID: configDigest(t, good), wantErr: []string{"manifest", "4 MiB"},
			src: func(t *testing.T) string {
				return "oci:" + layoutWith(t, config, configDesc, big, func(d *v1.Descriptor) { d.Size = 1000 })
			}},
		{name: "config claims 300 MiB", badID: configDigest(t, good), wantErr: []string{"config", "4 MiB"},
			src: func(t *testing.T) string {
				d := configDesc
				d.Size = 300 << 20
				return "oci:" + layoutWith(t, config, d, 0, nil)
			}},
		{name: "config file over 4 MiB, claims less", badID: digest.FromBytes(bigConfig), wantErr: []string{"config", "4 MiB"},
			src: func(t *testing.T) string {
				d := descriptorOf(t, types.OCIConfigJSON, bigConfig)
				d.Size = int64(len(config))
				return "oci:" + layoutWith(t, bigConfig, d, 0, nil)
			}},
		{name: "archive manifest.json over 4 MiB", badID: configDigest(t, good), wantErr: []string{"manifest.json", "4 MiB"},
			src: func(t *testing.T) string {
				return archive(t, archiveFile{name: "manifest.json", body: padded(archiveManifest(t, "c.json", "l.tar"), big)},
					archiveFile{name: "c.json", body: config}, archiveFile{name: "l.tar", body: layerTar})
			}},
		{name: "archive manifest.json links to a large file", badID: configDigest(t, good), wantErr: []string{"manifest.json", "4 MiB"},
			src: func(t *testing.T) string {
				return archive(t, archiveFile{name: "manifest.json", link: "m.json"},
					archiveFile{name: "m.json", body: padded(archiveManifest(t, "c.json", "l.tar"), big)},
					archiveFile{name: "c.json", body: config}, archiveFile{name: "l.tar", body: layerTar})
			}},
		{name: "archive config over 4 MiB", badID: digest.FromBytes(bigConfig), wantErr: []string{"config", "4 MiB"},
			src: func(t *testing.T) string {
				return archive(t, archiveFile{name: "manifest.json", body: archiveManifest(t, "c.json", "l.tar")},
					archiveFile{name: "c.json", body: bigConfig}, archiveFile{name: "l.tar", body: layerTar})
			}},
		{name: "archive config links to a large file", badID: digest.FromBytes(bigConfig), wantErr: []string{"config", "4 MiB"},
			src: func(t *testing.T) string {
				return archive(t, archiveFile{name: "manifest.json", body: archiveManifest(t, "c.json", "l.tar")},
					archiveFile{name: "c.json", link: "big.json"}, archiveFile{name: "big.json", body: bigConfig},
					archiveFile{name: "l.tar", body: layerTar})
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newLayerStore(t)
			src := tc.src(t)
			err := pullBounded(t, s, src, image.PullOptions{})
			if err == nil {
				t.Fatalf("pull %s: no error", src)
			}
			t.Logf("pull %s: %v", src, err)
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is more than one line", err)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			checkNothingOf(t, s.layers, s.images, chainIDsOf(t, good), tc.badID)
			rec := mustPull(t, s.layers, s.images, goodSrc, image.PullOptions{})
			checkPulled(t, s.layers, s.images, rec, good, "")
		})
	}
}

func compressedBytes(t testing.TB, l v1.Layer) []byte {
	t.Helper()
	rc, err := l.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(rc); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
