package image_test

// Shared helpers of the image.Pull tests: stores, hand-made layers and images,
// an in-memory registry that counts and can corrupt blob downloads, OCI
// layouts, and the checks every pull test makes.

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	digest "github.com/opencontainers/go-digest"

	"github.com/layerctl/layerctl/pkg/image"
	"github.com/layerctl/layerctl/pkg/layer"
	"github.com/layerctl/layerctl/pkg/whiteout"
)

// openStore opens (or creates) an overlay store at root and its image records;
// both are closed when the test ends.
func openStore(t testing.TB, root string) (*layer.Store, *image.Images) {
	t.Helper()
	s, err := layer.Open(root, layer.OpenOptions{Default: func() (layer.Settings, error) {
		return layer.Settings{Driver: "overlay", Whiteout: whiteout.FormatOverlay}, nil
	}})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	im, err := image.NewImages(s)
	if err != nil {
		t.Fatalf("open image records: %v", err)
	}
	return s, im
}

func newStore(t testing.TB) (*layer.Store, *image.Images) {
	t.Helper()
	return openStore(t, t.TempDir())
}

// entry is one member of a hand-made layer tar: a name ending in "/" is a
// directory, one with a link a hardlink to it, anything else a regular file
// holding body.
type entry struct{ name, body, link string }

func dir(name string) entry              { return entry{name: strings.TrimSuffix(name, "/") + "/"} }
func file(name, body string) entry       { return entry{name: name, body: body} }
func hardlink(name, target string) entry { return entry{name: name, link: target} }

var epoch = time.Unix(1700000000, 0)

// tarOf makes a deterministic uncompressed layer tar.
func tarOf(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, ModTime: epoch, Format: tar.FormatPAX}
		switch {
		case strings.HasSuffix(e.name, "/"):
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		case e.link != "":
			h.Typeflag, h.Mode, h.Linkname = tar.TypeLink, 0o644, e.link
		default:
			h.Typeflag, h.Mode, h.Size = tar.TypeReg, 0o644, int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Layer makers: the same tar as a gzip, zstd or uncompressed blob.

func gzipLayer(t testing.TB, tarBytes []byte) v1.Layer {
	t.Helper()
	return openerLayer(t, tarBytes, tarball.WithMediaType(types.OCILayer))
}

// dockerLayer is a gzip layer with the Docker media type.
func dockerLayer(t testing.TB, tarBytes []byte) v1.Layer {
	t.Helper()
	return openerLayer(t, tarBytes)
}

func zstdLayer(t testing.TB, tarBytes []byte) v1.Layer {
	t.Helper()
	return openerLayer(t, tarBytes, tarball.WithCompression("zstd"), tarball.WithMediaType(types.OCILayerZStd))
}

func plainLayer(tarBytes []byte) v1.Layer {
	return static.NewLayer(tarBytes, types.OCIUncompressedLayer)
}

func openerLayer(t testing.TB, b []byte, opts ...tarball.LayerOption) v1.Layer {
	t.Helper()
	opts = append(opts, tarball.WithCompressedCaching)
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// configDigest is an image's ID as the store names it.
func configDigest(t testing.TB, img v1.Image) digest.Digest {
	t.Helper()
	h, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	return digest.Digest(h.String())
}

// diffIDsOf lists the diffIDs the image's config lists.
func diffIDsOf(t testing.TB, img v1.Image) []digest.Digest {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	var out []digest.Digest
	for _, h := range cf.RootFS.DiffIDs {
		out = append(out, digest.Digest(h.String()))
	}
	return out
}

func chainIDsOf(t testing.TB, img v1.Image) []digest.Digest {
	t.Helper()
	return layer.ChainIDs(diffIDsOf(t, img))
}

// blobDigest is a layer's compressed digest.
func blobDigest(t testing.TB, l v1.Layer) string {
	t.Helper()
	h, err := l.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

// testRegistry is go-containerregistry's in-memory registry behind a handler
// that counts blob GETs and can rewrite the bytes of chosen blobs.
type testRegistry struct {
	host string
	h    http.Handler

	mu      sync.Mutex
	gets    map[string]int                 // blob digest -> GETs
	rewrite map[string]func([]byte) []byte // "REPO@DIGEST" -> new body
	delay   map[string]time.Duration       // blob digest -> wait before answering
}

func startRegistry(t testing.TB) *testRegistry {
	t.Helper()
	r := &testRegistry{
		h:       registry.New(registry.Logger(log.New(io.Discard, "", 0))),
		gets:    map[string]int{},
		rewrite: map[string]func([]byte) []byte{},
		delay:   map[string]time.Duration{},
	}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	r.host = strings.TrimPrefix(srv.URL, "http://")
	return r
}

func (r *testRegistry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	repo, dgst, isBlob := strings.Cut(strings.TrimPrefix(req.URL.Path, "/v2/"), "/blobs/")
	var fn func([]byte) []byte
	if isBlob && req.Method == http.MethodGet {
		r.mu.Lock()
		r.gets[dgst]++
		fn = r.rewrite[repo+"@"+dgst]
		delay := r.delay[dgst]
		r.mu.Unlock()
		time.Sleep(delay)
	}
	if fn == nil {
		r.h.ServeHTTP(w, req)
		return
	}
	rec := httptest.NewRecorder()
	r.h.ServeHTTP(rec, req)
	body := fn(rec.Body.Bytes())
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(rec.Code)
	w.Write(body)
}

// corrupt makes GETs of blob dgst from repo return fn(the real bytes).
func (r *testRegistry) corrupt(repo, dgst string, fn func([]byte) []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rewrite[repo+"@"+dgst] = fn
}

// slow makes every GET of blob dgst wait d before it is answered.
func (r *testRegistry) slow(dgst string, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delay[dgst] = d
}

// blobGets is how often blob dgst was fetched.
func (r *testRegistry) blobGets(dgst string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.gets[dgst]
}

func (r *testRegistry) ref(t testing.TB, repoTag string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(r.host+"/"+repoTag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// push uploads img as REPO:TAG and returns the pull source "HOST/REPO:TAG".
func (r *testRegistry) push(t testing.TB, repoTag string, img v1.Image) string {
	t.Helper()
	if err := remote.Write(r.ref(t, repoTag), img); err != nil {
		t.Fatalf("push %s: %v", repoTag, err)
	}
	return r.host + "/" + repoTag
}

func (r *testRegistry) pushIndex(t testing.TB, repoTag string, idx v1.ImageIndex) string {
	t.Helper()
	if err := remote.WriteIndex(r.ref(t, repoTag), idx); err != nil {
		t.Fatalf("push index %s: %v", repoTag, err)
	}
	return r.host + "/" + repoTag
}

// rewriteLayoutBlob replaces the bytes of one blob file of a layout.
func rewriteLayoutBlob(t testing.TB, dir, dgst string, fn func([]byte) []byte) {
	t.Helper()
	d := digest.Digest(dgst)
	path := filepath.Join(dir, "blobs", d.Algorithm().String(), d.Encoded())
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, fn(b), 0o644); err != nil {
		t.Fatal(err)
	}
}

// pull runs image.Pull with a fresh context.
func pull(t testing.TB, s *layer.Store, im *image.Images, src string, opts image.PullOptions) (image.Record, error) {
	t.Helper()
	opts.Insecure = true
	return image.Pull(t.Context(), s, im, src, opts)
}

func mustPull(t testing.TB, s *layer.Store, im *image.Images, src string, opts image.PullOptions) image.Record {
	t.Helper()
	rec, err := pull(t, s, im, src, opts)
	if err != nil {
		t.Fatalf("pull %s: %v", src, err)
	}
	return rec
}

// checkPulled checks that rec is img in the store: the ID is the config
// digest, the chain is the config's, every layer is there and verifies, the
// config (and manifest) blobs are stored, the record is stored and, when name
// is set, resolves from it. Nothing is left in tmp/.
func checkPulled(t testing.TB, s *layer.Store, im *image.Images, rec image.Record, img v1.Image, name string) {
	t.Helper()
	if want := configDigest(t, img); rec.ID != want {
		t.Errorf("record ID %s, want the config digest %s", rec.ID, want)
	}
	diffIDs := diffIDsOf(t, img)
	if !slices.Equal(rec.DiffIDs, diffIDs) {
		t.Errorf("record diffIDs %v, want %v", rec.DiffIDs, diffIDs)
	}
	if want := layer.ChainIDs(diffIDs); !slices.Equal(rec.ChainIDs, want) {
		t.Errorf("record chainIDs %v, want %v", rec.ChainIDs, want)
	}
	for i, id := range rec.ChainIDs {
		m, err := s.Get(id)
		if err != nil {
			t.Errorf("layer %d: %v", i, err)
			continue
		}
		if m.DiffID != diffIDs[i] {
			t.Errorf("layer %d: diffID %s, want %s", i, m.DiffID, diffIDs[i])
		}
		if i > 0 && m.Parent != rec.ChainIDs[i-1] {
			t.Errorf("layer %d: parent %s, want %s", i, m.Parent, rec.ChainIDs[i-1])
		}
		if err := s.Verify(t.Context(), id); err != nil {
			t.Errorf("verify layer %d: %v", i, err)
		}
	}
	if _, err := s.Blob(rec.ID); err != nil {
		t.Errorf("config blob: %v", err)
	}
	if rec.Manifest != "" {
		got, err := s.Blob(rec.Manifest)
		if err != nil {
			t.Errorf("manifest blob: %v", err)
		} else if want, _ := img.RawManifest(); !bytes.Equal(got, want) {
			t.Errorf("stored manifest differs from the image's:\n%s\n%s", got, want)
		}
	}
	stored, err := im.Get(rec.ID)
	if err != nil {
		t.Errorf("image record: %v", err)
	} else if !slices.Equal(stored.ChainIDs, rec.ChainIDs) {
		t.Errorf("stored record chainIDs %v, want %v", stored.ChainIDs, rec.ChainIDs)
	}
	if name != "" {
		got, err := im.Resolve(name)
		if err != nil {
			t.Errorf("resolve %s: %v", name, err)
		} else if got.ID != rec.ID {
			t.Errorf("%s resolves to %s, want %s", name, got.ID, rec.ID)
		}
	}
	checkTmpEmpty(t, s)
}

// checkFile checks a regular file's content in a layer's diff dir.
func checkFile(t testing.TB, s *layer.Store, chainID digest.Digest, path, body string) {
	t.Helper()
	got, err := os.ReadFile(filepath.Join(s.DiffDir(chainID), path))
	if err != nil {
		t.Errorf("layer %s: %v", chainID.Encoded()[:12], err)
		return
	}
	if string(got) != body {
		t.Errorf("layer %s: /%s = %q, want %q", chainID.Encoded()[:12], path, got, body)
	}
}

func checkTmpEmpty(t testing.TB, s *layer.Store) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(s.Root(), "tmp"))
	if err != nil {
		t.Errorf("read tmp/: %v", err)
	}
	for _, e := range entries {
		t.Errorf("tmp/%s left behind", e.Name())
	}
}

// listedChainIDs is what store.List reports.
func listedChainIDs(t testing.TB, s *layer.Store) []digest.Digest {
	t.Helper()
	all, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	var ids []digest.Digest
	for _, m := range all {
		ids = append(ids, m.ChainID)
	}
	return ids
}

// checkNothingOf checks what a failed pull must leave: none of the bad
// layers listed or present under layers/, every entry under layers/ a
// complete layer, tmp/ empty, and no record (nor name) for image badID.
func checkNothingOf(t testing.TB, s *layer.Store, im *image.Images, bad []digest.Digest, badID digest.Digest) {
	t.Helper()
	listed := listedChainIDs(t, s)
	for _, id := range bad {
		if slices.Contains(listed, id) || s.Has(id) {
			t.Errorf("layer %s was published", id)
		}
		if _, err := os.Lstat(filepath.Join(s.Root(), "layers", id.Encoded())); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("layers/%s exists (%v)", id.Encoded(), err)
		}
	}
	entries, err := os.ReadDir(filepath.Join(s.Root(), "layers"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		id := digest.NewDigestFromEncoded(digest.SHA256, e.Name())
		if !slices.Contains(listed, id) {
			t.Errorf("layers/%s is no complete layer", e.Name())
		}
	}
	checkTmpEmpty(t, s)
	if _, err := im.Get(badID); !errors.Is(err, image.ErrNotFound) {
		t.Errorf("image record %s: err = %v, want not found", badID, err)
	}
	if _, err := os.Stat(filepath.Join(s.Root(), "images", badID.Encoded()+".json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("images/%s.json exists", badID.Encoded())
	}
	refs, err := im.Refs()
	if err != nil {
		t.Fatal(err)
	}
	for n, id := range refs {
		if id == badID {
			t.Errorf("name %s points at the failed image", n)
		}
	}
}

// progressLog records what Pull reports, per layer.
type progressLog struct {
	mu     sync.Mutex
	begun  map[string]int64
	bytes  map[string]int
	status map[string]string
}

func newProgressLog() *progressLog {
	return &progressLog{begun: map[string]int64{}, bytes: map[string]int{}, status: map[string]string{}}
}

func (p *progressLog) Begin(id string, size int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.begun[id] = size
}

func (p *progressLog) Advance(id string, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bytes[id] += n
}

func (p *progressLog) End(id string, status string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.status[id] = status
}

// progressID is the id Pull's progress reports use for a blob.
func progressID(dgst string) string { return digest.Digest(dgst).Encoded()[:12] }
