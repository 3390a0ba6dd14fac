package layer

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

// PutBlob stores a small blob (a manifest, a config) under its digest. A
// blob already present is left alone: its name is its content.
func (s *Store) PutBlob(data []byte) (digest.Digest, error) {
	d := digest.FromBytes(data)
	path := s.paths.Blob(d)
	if _, err := os.Stat(path); err == nil {
		return d, nil
	}
	if err := WriteFileAtomic(path, data); err != nil {
		return "", fmt.Errorf("store blob %s: %w", d, err)
	}
	return d, nil
}

// Blob reads a stored blob and checks its digest.
func (s *Store) Blob(d digest.Digest) ([]byte, error) {
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("blob %q: %w", d, err)
	}
	data, err := os.ReadFile(s.paths.Blob(d))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("blob %s: %w", d, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", d, err)
	}
	if digest.FromBytes(data) != d {
		return nil, fmt.Errorf("blob %s: %w", d, ErrCorrupt)
	}
	return data, nil
}

// RemoveBlobs deletes every stored blob not in keep; callers hold the store
// exclusively (inside Exclusive).
func (s *Store) RemoveBlobs(keep map[digest.Digest]bool) ([]digest.Digest, error) {
	dir := s.paths.Blobs()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	// The layers' own blobs go with their layers (GC), not here.
	layers, err := s.List()
	if err != nil {
		return nil, err
	}
	keep = maps.Clone(keep)
	if keep == nil {
		keep = map[digest.Digest]bool{}
	}
	for d := range keptBlobs(layers) {
		keep[d] = true
	}
	var removed []digest.Digest
	for _, e := range entries {
		d := digest.NewDigestFromEncoded(digest.SHA256, e.Name())
		if d.Validate() != nil || keep[d] {
			continue
		}
		if err := os.Remove(s.paths.Blob(d)); err != nil {
			return removed, err
		}
		removed = append(removed, d)
	}
	return removed, nil
}

// BlobWriter receives a compressed blob while it streams. Once the caller
// has checked its digest (Keep), the layer made from it publishes the blob
// under blobs/ beside itself, as containerd keeps its content store beside
// its snapshots.
type BlobWriter struct {
	s      *Store
	dir    string // a staging dir of its own: gc leaves it alone
	f      *os.File
	digest digest.Digest
	kept   bool
}

// NewBlobWriter starts a blob in a staging dir under tmp/. A layer Source
// whose stream has a KeptBlob() *BlobWriter method hands it to the layer.
func (s *Store) NewBlobWriter(d digest.Digest) (*BlobWriter, error) {
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("blob %q: %w", d, err)
	}
	dir, err := s.stagingDir("blob-")
	if err != nil {
		return nil, fmt.Errorf("keep blob %s: %w", d, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "blob"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		s.unstage(dir)
		return nil, fmt.Errorf("keep blob %s: %w", d, err)
	}
	return &BlobWriter{s: s, dir: dir, f: f, digest: d}, nil
}

func (w *BlobWriter) Write(p []byte) (int, error) { return w.f.Write(p) }

// Keep marks the blob, read whole and verified, to be kept with its layer.
func (w *BlobWriter) Keep() error {
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("keep blob %s: %w", w.digest, err)
	}
	w.kept = true
	return nil
}

// Close drops whatever the layer did not take.
func (w *BlobWriter) Close() error {
	w.f.Close()
	w.s.unstage(w.dir)
	return nil
}

// keptBlobFile is the name of a kept blob in a layer's staging dir until the
// layer is published.
const keptBlobFile = "kept-blob"

// takeKeptBlob moves the verified blob of the stream rc, if any, into the
// layer's staging dir and tells its digest.
func takeKeptBlob(rc any, layerDir string) (digest.Digest, error) {
	k, ok := rc.(interface{ KeptBlob() *BlobWriter })
	if !ok {
		return "", nil
	}
	w := k.KeptBlob()
	if w == nil || !w.kept {
		return "", nil
	}
	if err := os.Rename(w.f.Name(), filepath.Join(layerDir, keptBlobFile)); err != nil {
		return "", fmt.Errorf("keep blob %s: %w", w.digest, err)
	}
	return w.digest, nil
}

// markKept says which of a layer's blobs the store keeps: the one the
// stream handed over, nothing a source only claimed.
func markKept(blobs []Blob, kept digest.Digest) []Blob {
	out := slices.Clone(blobs)
	for i := range out {
		out[i].Kept = kept != "" && out[i].Digest == kept
	}
	return out
}

// publishKeptBlob moves a layer's kept blob from its staging dir into blobs/;
// the caller holds the store lock, so no gc sees the blob before its layer.
func (s *Store) publishKeptBlob(layerDir string, d digest.Digest) error {
	if err := os.Rename(filepath.Join(layerDir, keptBlobFile), s.paths.Blob(d)); err != nil {
		return fmt.Errorf("keep blob %s: %w", d, err)
	}
	return nil
}

// OpenBlob opens a kept layer blob after checking that it is still the blob
// its digest names (ErrCorrupt if not, ErrNotFound when it is gone).
func (s *Store) OpenBlob(b Blob) (*os.File, error) {
	f, err := s.openBlobFile(b.Digest)
	if err != nil {
		return nil, err
	}
	if err := checkBlob(f, b); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// openBlobFile opens a blob file only if it is a regular file: O_NONBLOCK
// keeps a FIFO from blocking the open, and fstat refuses it.
func (s *Store) openBlobFile(d digest.Digest) (*os.File, error) {
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("blob %q: %w", d, err)
	}
	fd, err := unix.Open(s.paths.Blob(d), unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil, fmt.Errorf("kept blob %s: %w", d, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("open blob %s: %w", d, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return nil, fmt.Errorf("%w: kept blob %s is not a regular file", ErrCorrupt, d)
	}
	return os.NewFile(uintptr(fd), s.paths.Blob(d)), nil
}

func checkBlob(f *os.File, b Blob) error {
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return fmt.Errorf("read blob %s: %w", b.Digest, err)
	}
	if got := digest.NewDigest(digest.SHA256, h); got != b.Digest || b.Size > 0 && n != b.Size {
		return fmt.Errorf("%w: kept blob %s hashes to %s (%d bytes)", ErrCorrupt, b.Digest, got, n)
	}
	return nil
}

// verifyKeptBlobs re-hashes the compressed blobs kept for a layer.
func (s *Store) verifyKeptBlobs(m Meta) []string {
	var problems []string
	for _, b := range m.Blobs {
		if !b.Kept {
			continue
		}
		f, err := s.OpenBlob(b)
		if err != nil {
			problems = append(problems, strings.TrimPrefix(err.Error(), ErrCorrupt.Error()+": "))
			continue
		}
		f.Close()
	}
	return problems
}

// keptBlobs lists the blobs the given layers keep.
func keptBlobs(metas []Meta) map[digest.Digest]bool {
	kept := map[digest.Digest]bool{}
	for _, m := range metas {
		for _, b := range m.Blobs {
			if b.Kept {
				kept[b.Digest] = true
			}
		}
	}
	return kept
}
