package image_test

// Tests of Push: to a registry, an OCI layout and a docker-archive, with
// gzip and zstd; what arrives pulls back as the same image, the layout is
// valid, an archive loads in skopeo, a second push sends no blob again, and a
// failed push leaves nothing behind.

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	digest "github.com/opencontainers/go-digest"

	"github.com/layerctl/layerctl/pkg/image"
	"github.com/layerctl/layerctl/pkg/image/registrytest"
	"github.com/layerctl/layerctl/pkg/layer"
	lt "github.com/layerctl/layerctl/pkg/layer/layertest"
)

// committedImage stores app:1: the two-layer base of pullBase, a committed
// layer with every kind of entry (whiteout, opaque dir, hardlink, symlink,
// xattr, special modes) and an empty committed layer on top.
func committedImage(t testing.TB, s *layer.Store, im *image.Images) image.Record {
	t.Helper()
	base := pullBase(t, s, im, "base:1")
	changed := putLayer(t, s, base.Top(), lt.Tar(t,
		lt.Dir("bin/"), lt.File("bin/.wh.tool", ""),
		lt.Dir("etc/", lt.Mode(0o750)), lt.File("etc/.wh..wh..opq", ""), lt.File("etc/conf", "new conf", lt.Xattr("user.origin", "commit")),
		lt.File("run.sh", "#!/bin/sh\necho hi\n", lt.Mode(0o4755), lt.Owner(1000, 1000)),
		lt.Hardlink("run.link", "run.sh"), lt.Symlink("conf", "etc/conf"),
	))
	mid, err := image.Commit(s, im, &base, changed, image.CommitOptions{Created: epoch, Changes: []string{`CMD ["/run.sh"]`}})
	if err != nil {
		t.Fatal(err)
	}
	empty := putLayer(t, s, changed.ChainID, lt.Tar(t))
	rec, err := image.Commit(s, im, &mid, empty, image.CommitOptions{Name: image.NormalizeName("app:1"), Created: epoch})
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// uploadCounter is go-containerregistry's in-memory registry behind a handler
// that counts the requests that send blobs (POST, PATCH and PUT under
// /blobs/uploads/), the blob bytes they carry and the manifests.
type uploadCounter struct {
	host string
	h    http.Handler

	mu        sync.Mutex
	uploads   int
	bytes     int64
	manifests int
}

// countingBody counts what the registry reads of an upload.
type countingBody struct {
	io.ReadCloser
	u *uploadCounter
}

func (b countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.u.mu.Lock()
	b.u.bytes += int64(n)
	b.u.mu.Unlock()
	return n, err
}

func startUploadCounter(t testing.TB) *uploadCounter {
	t.Helper()
	u := &uploadCounter{h: registry.New(registry.Logger(log.New(io.Discard, "", 0)))}
	srv := httptest.NewServer(u)
	t.Cleanup(srv.Close)
	u.host = strings.TrimPrefix(srv.URL, "http://")
	return u
}

func (u *uploadCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	switch {
	case strings.Contains(r.URL.Path, "/blobs/uploads/") && r.Method != http.MethodGet && r.Method != http.MethodHead:
		u.uploads++
		r.Body = countingBody{r.Body, u}
	case strings.Contains(r.URL.Path, "/manifests/") && r.Method == http.MethodPut:
		u.manifests++
	}
	u.mu.Unlock()
	u.h.ServeHTTP(w, r)
}

func (u *uploadCounter) take() (uploads, manifests int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	uploads, manifests = u.uploads, u.manifests
	u.uploads, u.manifests, u.bytes = 0, 0, 0
	return uploads, manifests
}

func (u *uploadCounter) uploadedBytes() int64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.bytes
}

func mustPush(t testing.TB, s *layer.Store, im *image.Images, ref, dest string, opts image.PushOptions) digest.Digest {
	t.Helper()
	opts.Insecure = true
	d, err := image.Push(t.Context(), s, im, ref, dest, opts)
	if err != nil {
		t.Fatalf("push %s to %s: %v", ref, dest, err)
	}
	if d.Validate() != nil {
		t.Fatalf("push %s to %s printed %q, no digest", ref, dest, d)
	}
	return d
}

// checkSameImage pulls src into a fresh store and checks it is rec: the same
// ID and layers, each verifying, with the committed files in place.
func checkSameImage(t *testing.T, src string, rec image.Record) {
	t.Helper()
	s2, im2 := newStore(t)
	got := mustPull(t, s2, im2, src, image.PullOptions{})
	if got.ID != rec.ID || !slices.Equal(got.DiffIDs, rec.DiffIDs) {
		t.Fatalf("pull %s: ID %s diffIDs %v, want %s %v", src, got.ID, got.DiffIDs, rec.ID, rec.DiffIDs)
	}
	for _, id := range got.ChainIDs {
		if err := s2.Verify(t.Context(), id); err != nil {
			t.Errorf("verify %s: %v", id, err)
		}
	}
	checkFile(t, s2, got.ChainIDs[2], "run.sh", "#!/bin/sh\necho hi\n")
	checkTmpEmpty(t, s2)
}

func TestPushRoundTrip(t *testing.T) {
	skipUnlessRoot(t)
	s, im := newStore(t)
	rec := committedImage(t, s, im)
	reg := startUploadCounter(t)
	for _, comp := range []string{"gzip", "zstd"} {
		wantType := map[string]types.MediaType{"gzip": types.OCILayer, "zstd": types.OCILayerZStd}[comp]
		t.Run("registry/"+comp, func(t *testing.T) {
			dest := reg.host + "/push/app:" + comp
			d := mustPush(t, s, im, "app:1", dest, image.PushOptions{Compression: comp})
			ref, err := name.ParseReference(dest, name.Insecure)
			if err != nil {
				t.Fatal(err)
			}
			desc, err := remote.Get(ref)
			if err != nil {
				t.Fatal(err)
			}
			if desc.Digest.String() != d.String() {
				t.Errorf("push printed %s, the registry has %s", d, desc.Digest)
			}
			checkManifest(t, desc.Manifest, rec, wantType)
			checkSameImage(t, dest, rec)
		})
		t.Run("oci/"+comp, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "layout")
			d := mustPush(t, s, im, "app:1", "oci:"+dir+":app", image.PushOptions{Compression: comp})
			checkLayout(t, dir, map[string]digest.Digest{"app": d})
			checkManifest(t, layoutBlob(t, dir, d), rec, wantType)
			checkSameImage(t, "oci:"+dir+":app", rec)
			umociStat(t, dir, "app")
		})
		t.Run("docker-archive/"+comp, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "app.tar")
			mustPush(t, s, im, "app:1", "docker-archive:"+file+":example.com/app:"+comp, image.PushOptions{Compression: comp})
			if _, err := os.Stat(file + ".part"); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s.part left beside the archive (%v)", file, err)
			}
			checkArchive(t, file, rec, "example.com/app:"+comp)
			checkSameImage(t, "docker-archive:"+file, rec)
		})
	}
}

// TestPushAgainSendsNoBlob: a registry that has the blobs gets only the
// manifest; a layout that has the image keeps one entry for the tag.
func TestPushAgainSendsNoBlob(t *testing.T) {
	skipUnlessRoot(t)
	s, im := newStore(t)
	rec := committedImage(t, s, im)
	reg := startUploadCounter(t)
	dest := reg.host + "/again/app:1"
	first := mustPush(t, s, im, "app:1", dest, image.PushOptions{})
	// Four distinct layer blobs (the empty layer's too) and the config.
	if n := reg.uploadedBytes(); n == 0 {
		t.Error("first push: no blob bytes uploaded")
	}
	if up, man := reg.take(); up < 5 || man != 1 {
		t.Errorf("first push: %d blob upload requests, %d manifests; want at least 5 and 1", up, man)
	}
	second := mustPush(t, s, im, "app:1", dest, image.PushOptions{})
	if n := reg.uploadedBytes(); n != 0 {
		t.Errorf("second push uploaded %d blob bytes", n)
	}
	if up, man := reg.take(); up != 0 || man > 1 {
		t.Errorf("second push: %d blob upload requests, %d manifests; want no upload", up, man)
	}
	if first != second {
		t.Errorf("the same image pushed twice: manifest %s then %s", first, second)
	}

	dir := filepath.Join(t.TempDir(), "layout")
	d := mustPush(t, s, im, "app:1", "oci:"+dir+":app", image.PushOptions{})
	base, err := im.Resolve("base:1")
	if err != nil {
		t.Fatal(err)
	}
	bd := mustPush(t, s, im, base.ID.String(), "oci:"+dir+":base", image.PushOptions{})
	if again := mustPush(t, s, im, "app:1", "oci:"+dir+":app", image.PushOptions{}); again != d {
		t.Errorf("the same image pushed twice to a layout: %s then %s", d, again)
	}
	checkLayout(t, dir, map[string]digest.Digest{"app": d, "base": bd})
	checkSameImage(t, "oci:"+dir+":app", rec)
}

// TestPushKeepsPulledImageID: a pulled image, pushed again, is the same image:
// its kept blobs under the manifest it came with (a Docker one here).
func TestPushKeepsPulledImageID(t *testing.T) {
	skipUnlessRoot(t)
	src := startRegistry(t)
	img := registrytest.DockerImage(t, nil,
		dockerLayer(t, tarOf(t, dir("a/"), file("a/one", "1"), hardlink("a/two", "a/one"))),
		gzipLayer(t, lt.Tar(t, lt.Dir("a/"), lt.File("a/.wh.one", ""), lt.File("b", strings.Repeat("b", 5000), lt.Format(tar.FormatGNU)))))
	s, im := newStore(t)
	rec := mustPull(t, s, im, src.push(t, "pulled/img:1", img), image.PullOptions{Name: "pulled:1"})
	dir := filepath.Join(t.TempDir(), "layout")
	pushed := mustPush(t, s, im, "pulled:1", "oci:"+dir+":x", image.PushOptions{})
	if want, err := img.Digest(); err != nil || pushed.String() != want.String() {
		t.Errorf("pushed manifest %s, want the pulled %s (%v)", pushed, want, err)
	}
	s2, im2 := newStore(t)
	if got := mustPull(t, s2, im2, "oci:"+dir+":x", image.PullOptions{}); got.ID != rec.ID || got.ID != configDigest(t, img) {
		t.Errorf("pushed and pulled again: ID %s, want %s", got.ID, rec.ID)
	}
}

func TestPushFailures(t *testing.T) {
	skipUnlessRoot(t)
	s, im := newStore(t)
	committedImage(t, s, im)
	layout := filepath.Join(t.TempDir(), "layout")
	kept := mustPush(t, s, im, "app:1", "oci:"+layout+":kept", image.PushOptions{})
	indexBefore, err := os.ReadFile(filepath.Join(layout, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	for _, tc := range []struct {
		name, ref, dest, compression, why string
		is                                error
		// absent must not exist afterwards.
		absent []string
	}{
		{name: "unknown image to a layout", ref: "nosuch:1", dest: "oci:" + out + "/new-layout:x", is: image.ErrNotFound,
			absent: []string{out + "/new-layout"}},
		{name: "unknown image to an archive", ref: "nosuch:1", dest: "docker-archive:" + out + "/a.tar", is: image.ErrNotFound,
			absent: []string{out + "/a.tar", out + "/a.tar.part"}},
		{name: "unknown image ID prefix", ref: "sha256:0000", dest: "oci:" + layout + ":bad", is: image.ErrNotFound},
		{name: "unknown image to a registry", ref: "nosuch:1", dest: "127.0.0.1:1/x:y", is: image.ErrNotFound},
		{name: "unreachable registry", ref: "app:1", dest: "127.0.0.1:1/x:y", why: "127.0.0.1:1"},
		{name: "unknown compression", ref: "app:1", dest: "oci:" + layout + ":bad", compression: "lz4", why: "lz4"},
		{name: "archive in a missing directory", ref: "app:1", dest: "docker-archive:" + out + "/missing/a.tar", why: "missing",
			absent: []string{out + "/missing"}},
		{name: "bad registry reference", ref: "app:1", dest: "UPPER/Case:x", why: "UPPER"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := imageFiles(t, s)
			layersBefore := listedChainIDs(t, s)
			_, err := image.Push(t.Context(), s, im, tc.ref, tc.dest, image.PushOptions{Insecure: true, Compression: tc.compression})
			if err == nil {
				t.Fatalf("push %s to %s: no error", tc.ref, tc.dest)
			}
			if tc.is != nil && !errors.Is(err, tc.is) || tc.why != "" && !strings.Contains(err.Error(), tc.why) {
				t.Errorf("push %s to %s: %v; want %v %q", tc.ref, tc.dest, err, tc.is, tc.why)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is not one line", err)
			}
			for _, p := range tc.absent {
				if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("%s exists after a failed push (%v)", p, err)
				}
			}
			if after, _ := os.ReadFile(filepath.Join(layout, "index.json")); !bytes.Equal(after, indexBefore) {
				t.Errorf("a failed push changed the layout's index.json:\n%s", after)
			}
			if after := imageFiles(t, s); !slices.Equal(after, before) {
				t.Errorf("a failed push changed images/: %v", after)
			}
			if after := listedChainIDs(t, s); !slices.Equal(after, layersBefore) {
				t.Errorf("a failed push changed the layers: %v", after)
			}
			checkTmpEmpty(t, s)
		})
	}
	checkLayout(t, layout, map[string]digest.Digest{"kept": kept})
}

// TestPushCorruptLayer: a layer whose files no longer match its recorded
// stream fails the push while it is compressed; nothing reaches the
// destination and tmp/ is emptied.
func TestPushCorruptLayer(t *testing.T) {
	skipUnlessRoot(t)
	s, im := newStore(t)
	rec := committedImage(t, s, im)
	if err := os.WriteFile(filepath.Join(s.DiffDir(rec.ChainIDs[2]), "run.sh"), []byte("#!/bin/sh\necho HI\n"), 0o4755); err != nil {
		t.Fatal(err)
	}
	reg := startUploadCounter(t)
	out := t.TempDir()
	for _, dest := range []string{"oci:" + out + "/layout:x", "docker-archive:" + out + "/a.tar", reg.host + "/corrupt/app:1"} {
		_, err := image.Push(t.Context(), s, im, "app:1", dest, image.PushOptions{Insecure: true})
		if !errors.Is(err, layer.ErrContentChanged) {
			t.Errorf("push to %s: %v, want %v", dest, err, layer.ErrContentChanged)
		}
		checkTmpEmpty(t, s)
	}
	for _, p := range []string{out + "/layout", out + "/a.tar", out + "/a.tar.part"} {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s exists after a failed push (%v)", p, err)
		}
	}
	if up, man := reg.take(); man != 0 {
		t.Errorf("a failed push sent %d manifests (%d blob uploads)", man, up)
	}
}

// --- checking what a push wrote ---

// checkManifest checks a pushed manifest against the image record: OCI media
// types, the config is the image ID, one layer per diffID of the wanted type.
func checkManifest(t testing.TB, raw []byte, rec image.Record, layerType types.MediaType) {
	t.Helper()
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON || m.Config.Digest.String() != rec.ID.String() {
		t.Errorf("manifest %s, config %s %s; want OCI types and config %s", m.MediaType, m.Config.MediaType, m.Config.Digest, rec.ID)
	}
	if len(m.Layers) != len(rec.DiffIDs) {
		t.Fatalf("manifest lists %d layers, the image has %d", len(m.Layers), len(rec.DiffIDs))
	}
	for i, l := range m.Layers {
		if l.MediaType != layerType {
			t.Errorf("layer %d: media type %s, want %s", i, l.MediaType, layerType)
		}
	}
}

// checkLayout checks an OCI image layout the way oci-image-tool validate
// does: oci-layout, index.json and each manifest and config have their media
// types, every descriptor's digest and size match its blob, every blob's
// sha256 is its name, and each layer decompresses to the config's diffID.
// tags, when set, are the exact ref.name -> manifest digest entries.
func checkLayout(t testing.TB, dir string, tags map[string]digest.Digest) {
	t.Helper()
	var ol struct{ ImageLayoutVersion string }
	if err := json.Unmarshal(readOrFail(t, filepath.Join(dir, "oci-layout")), &ol); err != nil || ol.ImageLayoutVersion != "1.0.0" {
		t.Errorf("oci-layout: %+v (%v)", ol, err)
	}
	idx, err := v1.ParseIndexManifest(bytes.NewReader(readOrFail(t, filepath.Join(dir, "index.json"))))
	if err != nil {
		t.Fatalf("index.json: %v", err)
	}
	if idx.SchemaVersion != 2 || idx.MediaType != types.OCIImageIndex {
		t.Errorf("index.json: schema %d media type %s", idx.SchemaVersion, idx.MediaType)
	}
	got := map[string]digest.Digest{}
	for _, desc := range idx.Manifests {
		got[desc.Annotations["org.opencontainers.image.ref.name"]] = digest.Digest(desc.Digest.String())
		if desc.MediaType != types.OCIManifestSchema1 {
			t.Errorf("index entry %s: media type %s", desc.Digest, desc.MediaType)
		}
		raw := checkDescriptor(t, dir, desc)
		m, err := v1.ParseManifest(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("manifest %s: %v", desc.Digest, err)
		}
		if m.SchemaVersion != 2 || m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON {
			t.Errorf("manifest %s: schema %d, media type %s, config %s", desc.Digest, m.SchemaVersion, m.MediaType, m.Config.MediaType)
		}
		cf, err := v1.ParseConfigFile(bytes.NewReader(checkDescriptor(t, dir, m.Config)))
		if err != nil {
			t.Fatalf("config %s: %v", m.Config.Digest, err)
		}
		if len(cf.RootFS.DiffIDs) != len(m.Layers) {
			t.Fatalf("manifest %s: %d layers, config %d diffIDs", desc.Digest, len(m.Layers), len(cf.RootFS.DiffIDs))
		}
		for i, l := range m.Layers {
			if diffID := uncompressedDigest(t, l.MediaType, checkDescriptor(t, dir, l)); diffID != cf.RootFS.DiffIDs[i].String() {
				t.Errorf("layer %d (%s): uncompresses to %s, the config says %s", i, l.Digest, diffID, cf.RootFS.DiffIDs[i])
			}
		}
	}
	if tags != nil && !maps.Equal(got, tags) {
		t.Errorf("index.json entries %v, want %v", got, tags)
	}
	blobs, err := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range blobs {
		sum := sha256.Sum256(readOrFail(t, filepath.Join(dir, "blobs", "sha256", b.Name())))
		if hex.EncodeToString(sum[:]) != b.Name() {
			t.Errorf("blob %s hashes to %x", b.Name(), sum)
		}
	}
}

// checkDescriptor reads the blob a descriptor names and checks its digest and
// size.
func checkDescriptor(t testing.TB, dir string, desc v1.Descriptor) []byte {
	t.Helper()
	b := layoutBlob(t, dir, digest.Digest(desc.Digest.String()))
	if int64(len(b)) != desc.Size || digest.FromBytes(b).String() != desc.Digest.String() {
		t.Errorf("blob %s: %d bytes hashing to %s, the descriptor says %d bytes", desc.Digest, len(b), digest.FromBytes(b), desc.Size)
	}
	return b
}

func layoutBlob(t testing.TB, dir string, d digest.Digest) []byte {
	t.Helper()
	return readOrFail(t, filepath.Join(dir, "blobs", d.Algorithm().String(), d.Encoded()))
}

// uncompressedDigest is the diffID of a compressed layer blob.
func uncompressedDigest(t testing.TB, mt types.MediaType, blob []byte) string {
	t.Helper()
	var r io.Reader
	switch mt {
	case types.OCILayer, types.DockerLayer:
		zr, err := gzip.NewReader(bytes.NewReader(blob))
		if err != nil {
			t.Fatalf("gzip layer: %v", err)
		}
		r = zr
	case types.OCILayerZStd:
		zr, err := zstd.NewReader(bytes.NewReader(blob))
		if err != nil {
			t.Fatalf("zstd layer: %v", err)
		}
		defer zr.Close()
		r = zr
	default:
		t.Fatalf("unexpected layer media type %s", mt)
	}
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		t.Fatalf("uncompress %s layer: %v", mt, err)
	}
	return fmt.Sprintf("sha256:%x", h.Sum(nil))
}

// checkArchive checks a docker-archive: manifest.json names the config (the
// image ID) and tag, each layer file uncompresses to its diffID, and skopeo,
// when installed, loads it into an OCI layout with the same diffIDs.
func checkArchive(t *testing.T, file string, rec image.Record, tag string) {
	t.Helper()
	members := map[string][]byte{}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read archive: %v", err)
		}
		members[h.Name], _ = io.ReadAll(tr)
	}
	var manifest []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	if err := json.Unmarshal(members["manifest.json"], &manifest); err != nil || len(manifest) != 1 {
		t.Fatalf("manifest.json: %v %s", err, members["manifest.json"])
	}
	m := manifest[0]
	if digest.FromBytes(members[m.Config]) != rec.ID || !slices.Equal(m.RepoTags, []string{tag}) || len(m.Layers) != len(rec.DiffIDs) {
		t.Errorf("manifest.json %+v: want config %s, tag %s, %d layers", m, rec.ID, tag, len(rec.DiffIDs))
	}
	for i, l := range m.Layers {
		mt := types.OCILayer
		if bytes.HasPrefix(members[l], []byte{0x28, 0xb5, 0x2f, 0xfd}) {
			mt = types.OCILayerZStd
		}
		if got := uncompressedDigest(t, mt, members[l]); got != rec.DiffIDs[i].String() {
			t.Errorf("archive layer %d: uncompresses to %s, want %s", i, got, rec.DiffIDs[i])
		}
	}
	if _, err := exec.LookPath("skopeo"); err != nil {
		t.Log("skopeo not installed: the archive is not loaded with it")
		return
	}
	oci := filepath.Join(t.TempDir(), "oci")
	registrytest.Skopeo(t, "copy", "-q", "docker-archive:"+file, "oci:"+oci+":loaded")
	// skopeo rewrites the config into OCI form, so only the layers compare.
	idx, err := v1.ParseIndexManifest(bytes.NewReader(readOrFail(t, filepath.Join(oci, "index.json"))))
	if err != nil || len(idx.Manifests) != 1 {
		t.Fatalf("skopeo's index.json: %v", err)
	}
	lm, err := v1.ParseManifest(bytes.NewReader(layoutBlob(t, oci, digest.Digest(idx.Manifests[0].Digest.String()))))
	if err != nil {
		t.Fatal(err)
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(layoutBlob(t, oci, digest.Digest(lm.Config.Digest.String()))))
	if err != nil {
		t.Fatal(err)
	}
	var diffIDs []digest.Digest
	for _, h := range cf.RootFS.DiffIDs {
		diffIDs = append(diffIDs, digest.Digest(h.String()))
	}
	if !slices.Equal(diffIDs, rec.DiffIDs) {
		t.Errorf("skopeo loaded diffIDs %v, want %v", diffIDs, rec.DiffIDs)
	}
}

// umociStat runs `umoci stat` on a pushed layout when umoci is installed: it
// reads the index, manifest, config and history.
func umociStat(t testing.TB, dir, tag string) {
	t.Helper()
	if _, err := exec.LookPath("umoci"); err != nil {
		t.Log("umoci not installed: no umoci stat")
		return
	}
	if out, err := exec.Command("umoci", "stat", "--image", dir+":"+tag).CombinedOutput(); err != nil {
		t.Errorf("umoci stat %s:%s: %v\n%s", dir, tag, err, out)
	}
}

func readOrFail(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
