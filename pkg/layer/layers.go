package layer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/klauspost/compress/gzip"
	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

// Blob names a compressed blob a layer came from.
type Blob struct {
	Digest    digest.Digest `json:"digest"`
	MediaType string        `json:"mediaType,omitempty"`
	Size      int64         `json:"size,omitempty"`
	// Kept tells that the store holds the blob itself, under blobs/, as
	// long as the layer is there: push sends it as it came.
	Kept bool `json:"kept,omitempty"`
}

// Meta is a layer's record, layers/<chainID>/meta.json.
type Meta struct {
	ChainID digest.Digest `json:"chainID"`
	DiffID  digest.Digest `json:"diffID"`
	Parent  digest.Digest `json:"parent,omitempty"`
	Size    int64         `json:"size"`
	Blobs   []Blob        `json:"blobs,omitempty"`
	Copied  []string      `json:"copied,omitempty"`
	Root    bool          `json:"root,omitempty"` // the tar set the root's attributes
	// Shadowed lists the tar entries (by index) that a later entry of the
	// layer replaced; content kept for them is in shadow/ beside diff/.
	Shadowed []int     `json:"shadowed,omitempty"`
	Created  time.Time `json:"created"`

	entries  int           // tar entries, while a new layer is being published
	keptBlob digest.Digest // its compressed blob, staged beside it until then
}

// ChainID returns the chainID of a layer with this diffID over parent (the
// chainID of the layer below, or "" for a base layer).
func ChainID(parent, diffID digest.Digest) digest.Digest {
	if parent == "" {
		return diffID
	}
	return digest.FromString(parent.String() + " " + diffID.String())
}

// ChainIDs returns the chainIDs of a stack of diffIDs, base first.
func ChainIDs(diffIDs []digest.Digest) []digest.Digest {
	out := make([]digest.Digest, len(diffIDs))
	var parent digest.Digest
	for i, d := range diffIDs {
		parent = ChainID(parent, d)
		out[i] = parent
	}
	return out
}

// Get returns a layer's record.
func (s *Store) Get(chainID digest.Digest) (Meta, error) {
	var m Meta
	if err := chainID.Validate(); err != nil {
		return m, fmt.Errorf("layer %q: %w", chainID, err)
	}
	data, err := os.ReadFile(s.paths.Meta(chainID))
	if errors.Is(err, fs.ErrNotExist) {
		return m, fmt.Errorf("layer %s: %w", chainID, ErrNotFound)
	}
	if err != nil {
		return m, fmt.Errorf("read layer %s: %w", chainID, err)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("read layer %s: %w", chainID, err)
	}
	return m, nil
}

// Has reports whether the store holds the layer.
func (s *Store) Has(chainID digest.Digest) bool {
	_, err := os.Stat(s.paths.Meta(chainID))
	return err == nil
}

// List returns every layer, sorted by chainID.
func (s *Store) List() ([]Meta, error) {
	entries, err := os.ReadDir(s.paths.Layers())
	if err != nil {
		return nil, fmt.Errorf("list layers: %w", err)
	}
	var out []Meta
	for _, e := range entries {
		m, err := s.Get(digest.NewDigestFromEncoded(digest.SHA256, e.Name()))
		if err != nil {
			continue // not a layer directory
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ChainID < out[j].ChainID })
	return out, nil
}

// CreateOptions tune Create.
type CreateOptions struct {
	// Lower resolves hardlinks to files of lower layers.
	Lower LowerFunc
	// BeforePublish runs after extraction, before the layer becomes visible:
	// a pull that extracts layers in parallel waits there for the parent to
	// be published, so a layer never appears without its parent.
	BeforePublish func(ctx context.Context) error
}

// Source opens a layer's uncompressed stream for Create. It is called only
// when the layer is missing, under the layer's lock.
type Source func(ctx context.Context) (io.ReadCloser, []Blob, error)

// Create stores the layer with this diffID over parent, reading its tar from
// open, unless the store already has it. Concurrent callers (in this or other
// processes) extract a layer once: the others wait and reuse it. The stream's
// diffID must equal diffID, or nothing is published. created tells whether
// this call extracted the layer.
func (s *Store) Create(ctx context.Context, parent, diffID digest.Digest, open Source, opts CreateOptions) (m Meta, created bool, err error) {
	chainID := ChainID(parent, diffID)
	if m, err := s.Get(chainID); err == nil {
		return m, false, nil
	}
	err = s.lockedContext(ctx, chainID.Encoded(), func() error {
		if m, err = s.Get(chainID); err == nil {
			return nil
		}
		m, err = s.extract(ctx, parent, diffID, open, opts)
		created = err == nil
		return err
	})
	return m, created, err
}

func (s *Store) extract(ctx context.Context, parent, diffID digest.Digest, open Source, opts CreateOptions) (Meta, error) {
	tmp, m, err := s.unpack(ctx, parent, open, opts)
	if err != nil {
		return Meta{}, fmt.Errorf("create layer %s: %w", ChainID(parent, diffID), err)
	}
	defer s.unstage(tmp) // gone already once published
	if m.DiffID != diffID {
		return Meta{}, fmt.Errorf("layer content has diffID %s, the image config says %s", m.DiffID, diffID)
	}
	return m, s.publish(ctx, tmp, m, opts, false)
}

// Put stores the layer open streams over parent, whatever its diffID (a
// commit learns it only from the stream). When the store has that layer
// already, the existing one is returned and created is false.
func (s *Store) Put(ctx context.Context, parent digest.Digest, open Source) (m Meta, created bool, err error) {
	if parent != "" && !s.Has(parent) {
		return Meta{}, false, fmt.Errorf("parent layer %s: %w", parent, ErrNotFound)
	}
	tmp, m, err := s.unpack(ctx, parent, open, CreateOptions{Lower: s.lowerFunc(parent)})
	if err != nil {
		return Meta{}, false, fmt.Errorf("store layer: %w", err)
	}
	defer s.unstage(tmp)
	return s.publishNew(ctx, tmp, m)
}

// publishNew publishes a layer staged in tmp whose chainID was learnt from
// its stream, unless the store has it already: then that one is returned
// and created is false.
func (s *Store) publishNew(ctx context.Context, tmp string, m Meta) (_ Meta, created bool, err error) {
	err = s.Locked(m.ChainID.Encoded(), func() error {
		if existing, err := s.Get(m.ChainID); err == nil {
			m = existing
			return nil
		}
		created = true
		// A commit's layer of a few files syncs just those: syncfs would
		// also wait for every other dirty page on the filesystem.
		return s.publish(ctx, tmp, m, CreateOptions{}, m.entries <= smallLayer)
	})
	return m, created, err
}

// unpack extracts a layer stream into a new directory under tmp/ and returns
// it with the record it would be published with.
func (s *Store) unpack(ctx context.Context, parent digest.Digest, open Source, opts CreateOptions) (tmp string, m Meta, err error) {
	tmp, err = s.stagingDir("layer-")
	if err != nil {
		return "", Meta{}, err
	}
	made := tmp // the error returns below set tmp to "" before this runs
	defer func() {
		if err != nil {
			s.unstage(made)
		}
	}()
	diff := filepath.Join(tmp, diffDirName)
	if err := os.Mkdir(diff, 0o755); err != nil {
		return "", Meta{}, err
	}
	rc, blobs, err := open(ctx)
	if err != nil {
		return "", Meta{}, err
	}
	defer rc.Close()
	splitFile, err := os.Create(filepath.Join(tmp, tarSplitFile))
	if err != nil {
		return "", Meta{}, err
	}
	defer splitFile.Close()
	zw := gzip.NewWriter(splitFile)
	res, err := Apply(ctx, diff, rc, ApplyOptions{Converter: s.conv, Lower: opts.Lower, TarSplit: zw, Shadow: filepath.Join(tmp, shadowDirName)})
	if err != nil {
		return "", Meta{}, err
	}
	// A source that checks a compressed digest gives its verdict once the
	// whole blob is read.
	if v, ok := rc.(interface{ Verify() error }); ok {
		if err := v.Verify(); err != nil {
			return "", Meta{}, err
		}
	}
	kept, err := takeKeptBlob(rc, tmp)
	if err != nil {
		return "", Meta{}, err
	}
	if err := zw.Close(); err != nil {
		return "", Meta{}, err
	}
	if err := splitFile.Close(); err != nil {
		return "", Meta{}, err
	}
	m = Meta{
		ChainID: ChainID(parent, res.DiffID), DiffID: res.DiffID, Parent: parent, Size: res.Size,
		Blobs: markKept(blobs, kept), Copied: res.Copied, Root: res.Root, Shadowed: res.Shadowed,
		Created: time.Now().UTC(), entries: res.Entries, keptBlob: kept,
	}
	if err := writeMeta(tmp, m); err != nil {
		return "", Meta{}, err
	}
	return tmp, m, nil
}

// writeMeta writes the record of a layer staged in tmp.
func writeMeta(tmp string, m Meta) error {
	data, _ := json.MarshalIndent(m, "", "  ")
	return os.WriteFile(filepath.Join(tmp, metaFile), data, 0o600)
}

// publish makes an unpacked layer visible: after its parent, after a
// syncfs, by one rename.
func (s *Store) publish(ctx context.Context, tmp string, m Meta, opts CreateOptions, ownFiles bool) error {
	// Synced before waiting for the parent, so that the layers of a pull
	// that wait together share one syncfs.
	sync := func() error { return s.syncs.sync(s.syncfs) }
	if ownFiles {
		sync = func() error { return syncTree(tmp) }
	}
	if err := sync(); err != nil {
		return err
	}
	if opts.BeforePublish != nil {
		if err := opts.BeforePublish(ctx); err != nil {
			return err
		}
	}
	return s.Shared(func() error {
		if m.Parent != "" && !s.Has(m.Parent) {
			return fmt.Errorf("parent layer %s: %w", m.Parent, ErrNotFound)
		}
		if m.keptBlob != "" {
			if err := s.publishKeptBlob(tmp, m.keptBlob); err != nil {
				return err
			}
		}
		if err := os.Rename(tmp, s.paths.Layer(m.ChainID)); err != nil {
			return fmt.Errorf("publish layer %s: %w", m.ChainID, err)
		}
		return nil
	})
}

// smallLayer is the most entries a stored (committed) layer has for its
// files to be synced one by one rather than with a syncfs.
const smallLayer = 64

// syncTree fsyncs every file and directory under dir (never through a
// symlink).
func syncTree(dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() && !d.IsDir() {
			return nil // a symlink, device or fifo lives in its directory's entries
		}
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		return unix.Fsync(fd)
	})
}

// syncfs flushes the store's filesystem once, instead of an fsync per file of
// a layer: the rename that publishes a layer must not reach the disk before
// its files do.
func (s *Store) syncfs() error {
	fd, err := unix.Open(s.root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Syncfs(fd)
}

// GC removes every layer that is not in keep, nor leased by a running pull,
// and is no parent of a kept layer, while no other process has the store
// open. keep is asked once that is so: a pull that ended while GC waited
// counts. With only set, just those layers may go (rmi removes its own
// image's layers, nothing else). It returns what it removed.
func (s *Store) GC(keepFn func() ([]digest.Digest, error), only []digest.Digest) ([]Meta, error) {
	var removed []Meta
	err := s.Exclusive(func() error {
		keep, err := keepFn()
		if err != nil {
			return err
		}
		leased, err := s.leased()
		if err != nil {
			return err
		}
		keep = append(keep, leased...)
		all, err := s.List()
		if err != nil {
			return err
		}
		byID := map[digest.Digest]Meta{}
		for _, m := range all {
			byID[m.ChainID] = m
		}
		live := map[digest.Digest]bool{}
		for _, id := range keep {
			for id != "" && !live[id] {
				live[id] = true
				id = byID[id].Parent
			}
		}
		var allowed map[digest.Digest]bool
		if only != nil {
			allowed = map[digest.Digest]bool{}
			for _, id := range only {
				allowed[id] = true
			}
		}
		for _, m := range all {
			if live[m.ChainID] || allowed != nil && !allowed[m.ChainID] {
				continue
			}
			if err := s.removeLayer(m.ChainID); err != nil {
				return err
			}
			removed = append(removed, m)
		}
		return s.removeKeptBlobs(removed, all)
	})
	return removed, err
}

// removeKeptBlobs deletes the blobs the removed layers kept, unless a layer
// that stays keeps the same blob.
func (s *Store) removeKeptBlobs(removed, all []Meta) error {
	gone := map[digest.Digest]bool{}
	for _, m := range removed {
		gone[m.ChainID] = true
	}
	var staying []Meta
	for _, m := range all {
		if !gone[m.ChainID] {
			staying = append(staying, m)
		}
	}
	used := keptBlobs(staying)
	for d := range keptBlobs(removed) {
		if used[d] {
			continue
		}
		if err := os.Remove(s.paths.Blob(d)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove blob %s: %w", d, err)
		}
	}
	return nil
}

// removeLayer makes a layer vanish at once by renaming it into tmp/, then
// deletes it.
func (s *Store) removeLayer(chainID digest.Digest) error {
	tmp, err := s.TempDir("gc-")
	if err != nil {
		return err
	}
	if err := os.Rename(s.paths.Layer(chainID), filepath.Join(tmp, "layer")); err != nil {
		return fmt.Errorf("remove layer %s: %w", chainID, err)
	}
	os.Remove(s.paths.Lock(chainID.Encoded()))
	return os.RemoveAll(tmp)
}

// OpenTarSplit opens a layer's recorded tar headers.
func (s *Store) OpenTarSplit(chainID digest.Digest) (io.ReadCloser, error) {
	f, err := os.Open(s.paths.TarSplit(chainID))
	if err != nil {
		return nil, fmt.Errorf("open tar headers of %s: %w", chainID, err)
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open tar headers of %s: %w", chainID, err)
	}
	return readCloser{zr, f}, nil
}

type readCloser struct {
	io.Reader
	c io.Closer
}

func (r readCloser) Close() error { return r.c.Close() }

// Tar streams a layer's original uncompressed tar, reassembled from its diff
// directory and recorded headers.
func (s *Store) Tar(chainID digest.Digest) (io.ReadCloser, error) {
	split, err := s.OpenTarSplit(chainID)
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	go func() {
		defer split.Close()
		pw.CloseWithError(Reassemble(s.DiffDir(chainID), s.paths.Shadow(chainID), split, pw))
	}()
	return pr, nil
}

// lowerFunc resolves hardlink targets in the chain under parent.
func (s *Store) lowerFunc(parent digest.Digest) LowerFunc {
	if parent == "" {
		return nil
	}
	return func(_ context.Context, name string) (*os.File, error) { return s.OpenInChain(parent, name) }
}
