package image

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/match"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sync/errgroup"

	"github.com/layerctl/layerctl/pkg/layer"
)

// PushOptions tune Push.
type PushOptions struct {
	Insecure bool
	// Compression is "gzip" or "zstd" for every layer; "" sends a pulled
	// layer's kept blob as it is and compresses the others with gzip.
	Compression string
	Jobs        int // layers compressed at once
	// Progress sees each layer's blob as it is sent (by its first 12 hex
	// digits); a nil Progress reports nothing.
	Progress Progress
}

// Push sends an image of the store to a registry, an OCI layout or a
// docker-archive file and returns its manifest digest. A pulled layer whose
// compressed blob the store kept sends that very blob (checked against its
// digest first); when every layer does, the image goes with the manifest it
// was pulled with, so its digest stays the same. Any other layer is the
// original stream reassembled from its diff dir (so the diffIDs, and so the
// image ID, stay the same), compressed once into tmp/ and removed after.
func Push(ctx context.Context, s *layer.Store, im *Images, ref, dest string, opts PushOptions) (digest.Digest, error) {
	rec, err := im.Resolve(ref)
	if err != nil {
		return "", err
	}
	loc, err := ParseLocation(dest, opts.Insecure)
	if err != nil {
		return "", err
	}
	tmp, err := s.TempDir("push-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	img, err := exportImage(ctx, s, rec, tmp, opts)
	if err != nil {
		return "", err
	}
	if loc.Transport == DockerArchive && loc.Tag == "" {
		// An archive names its image; without NAME:TAG, the image's own name.
		if names, _ := im.Names(rec.ID); len(names) > 0 {
			loc.Tag = ShortName(names[0])
		}
	}
	if err := write(ctx, loc, img, opts); err != nil {
		return "", fmt.Errorf("push to %s: %w", dest, err)
	}
	d, err := img.Digest()
	return digest.Digest(d.String()), err
}

// exportImage is rec as a v1.Image whose layer blobs are files: kept
// blobs, or layers compressed into tmp (which the caller removes).
func exportImage(ctx context.Context, s *layer.Store, rec Record, tmp string, opts PushOptions) (v1.Image, error) {
	mediaType, err := layerMediaType(opts.Compression)
	if err != nil {
		return nil, err
	}
	config, err := s.Blob(rec.ID)
	if err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	layers, err := compressLayers(ctx, s, rec, tmp, mediaType, opts)
	if err != nil {
		return nil, err
	}
	for _, l := range layers {
		l.progress = opts.Progress
	}
	if manifest, mt, ok := pulledManifest(s, rec, layers); ok {
		return newPulledImage(config, manifest, mt, layers)
	}
	return newPushImage(config, layers)
}

func layerMediaType(compression string) (types.MediaType, error) {
	switch compression {
	case "", "gzip":
		return types.OCILayer, nil
	case "zstd":
		return types.OCILayerZStd, nil
	}
	return "", fmt.Errorf("unknown compression %q: want gzip or zstd", compression)
}

// compressLayers finds each layer's kept blob, or writes its compressed blob
// into dir, several at once.
func compressLayers(ctx context.Context, s *layer.Store, rec Record, dir string, mt types.MediaType, opts PushOptions) ([]*fileLayer, error) {
	jobs := opts.Jobs
	if jobs <= 0 {
		jobs = 3
	}
	out := make([]*fileLayer, len(rec.ChainIDs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(jobs)
	for i, id := range rec.ChainIDs {
		g.Go(func() error {
			if l := keptLayer(s, id, opts.Compression); l != nil {
				out[i] = l
				return nil
			}
			l, err := compressLayer(gctx, s, id, filepath.Join(dir, fmt.Sprint(i)), mt)
			if err != nil {
				return fmt.Errorf("layer %s: %w", id, err)
			}
			out[i] = l
			return nil
		})
	}
	return out, g.Wait()
}

func compressLayer(ctx context.Context, s *layer.Store, chainID digest.Digest, path string, mt types.MediaType) (*fileLayer, error) {
	tr, err := s.Tar(chainID)
	if err != nil {
		return nil, err
	}
	defer tr.Close()
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	counter := &countWriter{w: io.MultiWriter(f, h)}
	var zw io.WriteCloser
	if mt == types.OCILayerZStd {
		zw, err = zstd.NewWriter(counter)
	} else {
		zw, err = gzip.NewWriterLevel(counter, gzip.DefaultCompression)
	}
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(zw, ctxReader{ctx, tr}); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return &fileLayer{path: path, digest: v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", h.Sum(nil))}, size: counter.n, mediaType: mt}, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// ctxReader stops a long copy when the context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// fileLayer is a compressed layer blob in a file.
type fileLayer struct {
	path      string
	digest    v1.Hash
	size      int64
	mediaType types.MediaType
	kept      bool // the store's kept blob, not a file of this push
	progress  Progress
}

// keptLayer is the layer's kept blob when it is sound and compressed as
// asked, else nil: a damaged blob is never sent, the diff dir (checked
// against the layer's recorded stream while it is reassembled) stands in.
func keptLayer(s *layer.Store, chainID digest.Digest, compression string) *fileLayer {
	m, err := s.Get(chainID)
	if err != nil {
		return nil
	}
	for _, b := range m.Blobs {
		if !b.Kept || !compressedAs(types.MediaType(b.MediaType), compression) {
			continue
		}
		f, err := s.OpenBlob(b)
		if err != nil {
			continue
		}
		f.Close()
		h, err := v1.NewHash(b.Digest.String())
		if err != nil {
			continue
		}
		return &fileLayer{path: f.Name(), digest: h, size: b.Size, mediaType: types.MediaType(b.MediaType), kept: true}
	}
	return nil
}

// compressedAs tells whether a blob of media type mt is what the compression
// asked for ("": whatever it is).
func compressedAs(mt types.MediaType, compression string) bool {
	switch compression {
	case "":
		return true
	case "gzip":
		return mt == types.DockerLayer || strings.HasSuffix(string(mt), "+gzip")
	case "zstd":
		return strings.HasSuffix(string(mt), "+zstd")
	}
	return false
}

// pulledManifest returns the manifest the image was pulled with when every
// layer to push is the kept blob that manifest names, in order.
func pulledManifest(s *layer.Store, rec Record, layers []*fileLayer) ([]byte, types.MediaType, bool) {
	if rec.Manifest == "" {
		return nil, "", false
	}
	raw, err := s.Blob(rec.Manifest)
	if err != nil {
		return nil, "", false
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil || m.Config.Digest.String() != rec.ID.String() || len(m.Layers) != len(layers) {
		return nil, "", false
	}
	mt := m.MediaType
	if mt == "" {
		mt = types.MediaType(rec.ManifestMediaType) // optional in an OCI manifest; umoci leaves it out
	}
	switch mt {
	case types.OCIManifestSchema1, types.DockerManifestSchema2:
	default:
		return nil, "", false
	}
	for i, l := range layers {
		if !l.kept || m.Layers[i].Digest != l.digest || m.Layers[i].MediaType != l.mediaType {
			return nil, "", false
		}
	}
	return raw, mt, true
}

func (l *fileLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *fileLayer) Size() (int64, error)                { return l.size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error) { return l.mediaType, nil }

// Compressed opens the blob to send, reporting its bytes as they are read.
func (l *fileLayer) Compressed() (io.ReadCloser, error) {
	f, err := os.Open(l.path)
	if err != nil || l.progress == nil {
		return f, err
	}
	id := l.digest.Hex[:12]
	l.progress.Begin(id, l.size)
	return &progressReader{ReadCloser: f, progress: l.progress, id: id}, nil
}

// progressReader reports a blob's bytes as they are read: "done" at its
// end, "failed" when it is closed before.
type progressReader struct {
	io.ReadCloser
	progress Progress
	id       string
	ended    bool
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.ReadCloser.Read(b)
	p.progress.Advance(p.id, n)
	if err == io.EOF && !p.ended {
		p.ended = true
		p.progress.End(p.id, "done")
	}
	return n, err
}

func (p *progressReader) Close() error {
	if !p.ended {
		p.ended = true
		p.progress.End(p.id, "failed")
	}
	return p.ReadCloser.Close()
}

// pushImage is an OCI image made of a stored config and compressed layers.
type pushImage struct {
	config    []byte
	manifest  []byte
	mediaType types.MediaType
	layers    map[v1.Hash]*fileLayer
}

func newPushImage(config []byte, layers []*fileLayer) (v1.Image, error) {
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config: v1.Descriptor{
			MediaType: types.OCIConfigJSON, Size: int64(len(config)),
			Digest: v1.Hash{Algorithm: "sha256", Hex: digest.FromBytes(config).Encoded()},
		},
	}
	p := &pushImage{config: config, mediaType: types.OCIManifestSchema1, layers: map[v1.Hash]*fileLayer{}}
	for _, l := range layers {
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: ociLayerType(l.mediaType), Size: l.size, Digest: l.digest})
		p.layers[l.digest] = l
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	p.manifest = raw
	return partial.CompressedToImage(p)
}

// newPulledImage is the image as it was pulled: its own manifest, its kept
// blobs.
func newPulledImage(config, manifest []byte, mt types.MediaType, layers []*fileLayer) (v1.Image, error) {
	p := &pushImage{config: config, manifest: manifest, mediaType: mt, layers: map[v1.Hash]*fileLayer{}}
	for _, l := range layers {
		p.layers[l.digest] = l
	}
	return partial.CompressedToImage(p)
}

// ociLayerType names a kept Docker layer blob by its OCI equivalent (the
// same bytes) in the OCI manifest a push writes.
func ociLayerType(mt types.MediaType) types.MediaType {
	switch mt {
	case types.DockerLayer:
		return types.OCILayer
	case types.DockerUncompressedLayer:
		return types.OCIUncompressedLayer
	}
	return mt
}

func (p *pushImage) RawConfigFile() ([]byte, error)      { return p.config, nil }
func (p *pushImage) RawManifest() ([]byte, error)        { return p.manifest, nil }
func (p *pushImage) MediaType() (types.MediaType, error) { return p.mediaType, nil }
func (p *pushImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if l, ok := p.layers[h]; ok {
		return l, nil
	}
	return nil, fmt.Errorf("no layer %s in this image", h)
}

// write sends img to the destination. A layout gets the blobs first and
// the index last; an archive is written beside its final name and renamed,
// so a failed push leaves no partial file.
func write(ctx context.Context, loc Location, img v1.Image, opts PushOptions) error {
	switch loc.Transport {
	case Registry:
		ro := remoteOptions(ctx, loc, PullOptions{Insecure: opts.Insecure, Platform: DefaultPlatform()})
		return oneLine(remote.Write(loc.Ref, img, ro...))
	case OCILayout:
		p, err := layout.FromPath(loc.Path)
		if err != nil {
			if p, err = layout.Write(loc.Path, empty.Index); err != nil {
				return err
			}
		}
		tag := loc.Tag
		if tag == "" {
			tag = "latest"
		}
		ann := map[string]string{"org.opencontainers.image.ref.name": tag}
		return p.ReplaceImage(img, match.Name(tag), layout.WithAnnotations(ann))
	case DockerArchive:
		tag := loc.Tag
		if tag == "" {
			tag = "latest"
		}
		t, err := name.NewTag(tag, name.WeakValidation)
		if err != nil {
			return fmt.Errorf("archive name %q: %w", tag, err)
		}
		part := loc.Path + ".part"
		if err := tarball.WriteToFile(part, t, img); err != nil {
			os.Remove(part)
			return err
		}
		return os.Rename(part, loc.Path)
	}
	return fmt.Errorf("unknown transport %q", loc.Transport)
}
