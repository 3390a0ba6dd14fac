package image

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sync/errgroup"

	"github.com/layerctl/layerctl/pkg/layer"
)

// Progress receives per-layer download progress. Implementations must be safe
// for concurrent use; a nil Progress reports nothing.
type Progress interface {
	// Begin announces a layer about to be fetched; size is -1 when unknown.
	Begin(id string, size int64)
	// Advance adds n bytes read for the layer.
	Advance(id string, n int)
	// End closes a layer with a one-word status: "done", "exists", "failed".
	End(id string, status string)
}

// PullOptions tune Pull.
type PullOptions struct {
	Platform v1.Platform // zero: DefaultPlatform
	Insecure bool        // plain HTTP or unverified TLS to the registry
	Name     string      // the name to record; "" for the source's own
	Jobs     int         // layers fetched at once; 0: 3
	Progress Progress
	Timeouts Timeouts // waits on a registry
}

// Pull copies the image at src into the store and records it under a name,
// returning its record. Layers the store has are not fetched again.
func Pull(ctx context.Context, s *layer.Store, im *Images, src string, opts PullOptions) (Record, error) {
	explicitPlatform := opts.Platform.OS != ""
	if !explicitPlatform {
		opts.Platform = DefaultPlatform()
	}
	if opts.Jobs <= 0 {
		opts.Jobs = 3
	}
	// A bad name fails the pull before anything is fetched.
	var recordName string
	if opts.Name != "" {
		n, err := ParseName(opts.Name)
		if err != nil {
			return Record{}, err
		}
		recordName = n
	}
	loc, err := ParseLocation(src, opts.Insecure)
	if err != nil {
		return Record{}, err
	}
	source, err := openSource(ctx, loc, opts, func(d digest.Digest) []byte {
		data, _ := s.Blob(d) // checked against its digest, or nil
		return data
	})
	if err != nil {
		return Record{}, err
	}
	if recordName == "" {
		recordName = sourceName(loc, source)
	}
	rec, err := newRecord(src, source, opts.Platform, explicitPlatform)
	if err != nil {
		return Record{}, err
	}
	// The pull may wait long on the registry: it holds no store-wide lock
	// then, and its layers are leased so that gc keeps them until the record
	// names them.
	lease, err := s.Lease(rec.ChainIDs)
	if err != nil {
		return Record{}, err
	}
	defer lease.Release()
	metas, err := pullLayers(ctx, s, source, rec, opts.Jobs, opts.Progress)
	if err != nil {
		return Record{}, err
	}
	for _, m := range metas {
		rec.Size += m.Size
	}
	err = s.Shared(func() error { // blobs and record together, beside no gc
		rec, err = record(s, im, source, rec, recordName)
		return err
	})
	if err != nil {
		return Record{}, err
	}
	return rec, nil
}

// newRecord is the record of the image source holds, before its layers are
// pulled. A platform asked for explicitly must be the image's.
func newRecord(src string, source *source, platform v1.Platform, explicitPlatform bool) (Record, error) {
	cf, diffIDs, err := parseConfig(source.config)
	if err != nil {
		return Record{}, err
	}
	// An index chose by platform already; a single image is checked only
	// when a platform was asked for, as Docker does.
	if explicitPlatform && !platformMatches(cf, platform) {
		return Record{}, fmt.Errorf("image is %s, not the requested %s", platformString(v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}), platformString(platform))
	}
	if source.layers != nil && len(source.layers) != len(diffIDs) {
		return Record{}, fmt.Errorf("manifest lists %d layers, the config %d diff_ids", len(source.layers), len(diffIDs))
	}
	rec := Record{
		ID:                digest.FromBytes(source.config),
		ManifestMediaType: source.manifestType,
		DiffIDs:           diffIDs,
		ChainIDs:          layer.ChainIDs(diffIDs),
		Source:            src,
		Pulled:            time.Now().UTC(),
	}
	for _, d := range source.layers {
		rec.Blobs = append(rec.Blobs, layer.Blob{Digest: digest.Digest(d.Digest.String()), MediaType: string(d.MediaType), Size: d.Size})
	}
	return rec, nil
}

// record stores the manifest and config blobs and the image record.
func record(s *layer.Store, im *Images, source *source, rec Record, recordName string) (Record, error) {
	var err error
	if source.manifest != nil {
		if rec.Manifest, err = s.PutBlob(source.manifest); err != nil {
			return Record{}, err
		}
	}
	if _, err := s.PutBlob(source.config); err != nil {
		return Record{}, err
	}
	// A warm pull of an image already named so writes nothing: no fsync,
	// and the record keeps the time of its first pull.
	if old, err := im.Get(rec.ID); err == nil && old.Manifest == rec.Manifest {
		if refs, err := im.Refs(); err == nil && refs[recordName] == rec.ID {
			return old, nil
		}
	}
	if err := im.Put(rec, recordName); err != nil {
		return Record{}, err
	}
	return rec, nil
}

// pullLayers makes sure every layer of rec is in the store. Layers are
// fetched and extracted in parallel (at most jobs at once), each in one
// streaming pass; a layer is published only after its parent, so the store
// never shows a layer without the layers below it.
func pullLayers(ctx context.Context, s *layer.Store, src *source, rec Record, jobs int, progress Progress) ([]layer.Meta, error) {
	n := len(rec.DiffIDs)
	metas := make([]layer.Meta, n)
	published := make([]chan struct{}, n)
	for i := range published {
		published[i] = make(chan struct{})
	}
	g, gctx := errgroup.WithContext(ctx)
	slots := make(chan struct{}, jobs)
	for i := 0; i < n; i++ {
		// Slots are taken in layer order, so a layer waiting for its parent
		// never holds the slot the parent needs.
		select {
		case slots <- struct{}{}:
		case <-gctx.Done():
			return nil, waitErr(g, gctx)
		}
		g.Go(func() error {
			defer func() { <-slots }()
			var parent digest.Digest
			if i > 0 {
				parent = rec.ChainIDs[i-1]
			}
			waitParent := func(ctx context.Context) error {
				if i == 0 {
					return nil
				}
				select {
				case <-published[i-1]:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			lower := func(ctx context.Context, name string) (*os.File, error) {
				if err := waitParent(ctx); err != nil {
					return nil, err
				}
				return s.OpenInChain(parent, name)
			}
			id := layerID(src, rec, i)
			m, created, err := s.Create(gctx, parent, rec.DiffIDs[i], func(ctx context.Context) (io.ReadCloser, []layer.Blob, error) {
				return openLayer(ctx, s, src, rec, i, id, progress)
			}, layer.CreateOptions{Lower: lower, BeforePublish: waitParent})
			if progress != nil {
				switch {
				case err != nil:
					progress.End(id, "failed")
				case !created:
					progress.End(id, "exists")
				default:
					progress.End(id, "done")
				}
			}
			if err != nil {
				return fmt.Errorf("layer %d (%s): %w", i+1, rec.DiffIDs[i], err)
			}
			metas[i] = m
			close(published[i])
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return metas, nil
}

// sourceName is the name a pull without NAME records: the reference pulled,
// an OCI layout entry's ref.name when that is a whole reference (skopeo
// writes "docker.io/library/busybox:1.36"), else DIR:TAG; a docker archive's
// only RepoTags entry.
func sourceName(loc Location, src *source) string {
	switch {
	case loc.Transport == OCILayout && loc.Tag == "" && isFullRef(src.refName):
		return NormalizeName(src.refName)
	case loc.Transport == DockerArchive && loc.Tag == "":
		return archiveName(loc)
	}
	return loc.DefaultName()
}

func waitErr(g *errgroup.Group, ctx context.Context) error {
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}

// layerID is the short name progress shows for a layer.
func layerID(src *source, rec Record, i int) string {
	d := rec.DiffIDs[i]
	if src.layers != nil {
		d = rec.Blobs[i].Digest
	}
	return d.Encoded()[:12]
}

// openLayer opens layer i's uncompressed stream: the compressed blob checked
// against the manifest, or, for a docker archive, the plain tar (checked
// against its diffID by the store). A registry blob is fetched with ctx, the
// pull's errgroup context, so that one failed layer stops the others. The
// compressed blob is kept in the store as it streams by, for push.
func openLayer(ctx context.Context, s *layer.Store, src *source, rec Record, i int, id string, progress Progress) (io.ReadCloser, []layer.Blob, error) {
	advance := func(int) {}
	if progress != nil {
		advance = func(n int) { progress.Advance(id, n) }
	}
	if src.layers == nil {
		h, err := v1.NewHash(rec.DiffIDs[i].String())
		if err != nil {
			return nil, nil, err
		}
		l, err := src.img.LayerByDiffID(h)
		if err != nil {
			return nil, nil, fmt.Errorf("find layer in archive: %w", err)
		}
		if progress != nil {
			size, _ := l.Size()
			progress.Begin(id, size)
		}
		rc, err := l.Uncompressed()
		if err != nil {
			return nil, nil, fmt.Errorf("open layer in archive: %w", err)
		}
		stream, err := decompress(countingReadCloser{rc, advance}, nil)
		return stream, nil, err
	}
	desc := src.layers[i]
	if progress != nil {
		progress.Begin(id, desc.Size)
	}
	var body io.ReadCloser
	if src.fetch != nil {
		var err error
		if body, err = src.fetch(ctx, desc.Digest); err != nil {
			return nil, nil, fmt.Errorf("fetch blob %s: %w", desc.Digest, err)
		}
	} else {
		l, err := src.img.LayerByDigest(desc.Digest)
		if err != nil {
			return nil, nil, fmt.Errorf("find blob %s: %w", desc.Digest, err)
		}
		if body, err = l.Compressed(); err != nil {
			return nil, nil, fmt.Errorf("fetch blob %s: %w", desc.Digest, err)
		}
	}
	keep, err := s.NewBlobWriter(rec.Blobs[i].Digest)
	if err != nil {
		body.Close()
		return nil, nil, err
	}
	newReader := newVerifyingReader
	if src.fetchVerifies {
		newReader = newSizeCheckingReader
	}
	v := newReader(io.TeeReader(body, keep), rec.Blobs[i].Digest, desc.Size, advance)
	stream, err := decompress(body, v)
	if err != nil {
		keep.Close()
		return nil, nil, err
	}
	stream.keep = keep
	kept := rec.Blobs[i]
	kept.Kept = true
	return stream, []layer.Blob{kept}, nil
}

type countingReadCloser struct {
	io.ReadCloser
	advance func(int)
}

func (c countingReadCloser) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.advance(n)
	return n, err
}

func platformMatches(cf *v1.ConfigFile, want v1.Platform) bool {
	if cf.OS != want.OS || cf.Architecture != want.Architecture {
		return false
	}
	return want.Variant == "" || cf.Variant == "" || cf.Variant == want.Variant
}
