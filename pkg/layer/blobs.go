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
	"strings"

	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

// PutBlob stores a small blob (a manifest, a config) under its digest. A
// blob already present is left alone: its name is its content.
func (s *Store) PutBlob(data []byte) (digest.Digest, error) {
	d := digest.FromBytes(data)
	path := s.blobPath(d)
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
	data, err := os.ReadFile(s.blobPath(d))
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
	dir := s.blobPath(digest.FromString(""))
	dir = dir[:len(dir)-64]
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
		if err := os.Remove(s.blobPath(d)); err != nil {
			return removed, err
		}
		removed = append(removed, d)
	}
	return removed, nil
}

// BlobWriter receives a compressed blob while it streams and keeps it under
// its digest once the caller has checked that digest: the store then holds
// the layer's original blob beside its diff dir, as containerd does.
type BlobWriter struct {
	s      *Store
	f      *os.File
	digest digest.Digest
	kept   bool
}

// NewBlobWriter starts a blob under tmp/; Keep moves it into blobs/, Close
// without Keep drops it.
func (s *Store) NewBlobWriter(d digest.Digest) (*BlobWriter, error) {
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("blob %q: %w", d, err)
	}
	f, err := os.CreateTemp(filepath.Join(s.root, "tmp"), "blob-")
	if err != nil {
		return nil, fmt.Errorf("keep blob %s: %w", d, err)
	}
	return &BlobWriter{s: s, f: f, digest: d}, nil
}

func (w *BlobWriter) Write(p []byte) (int, error) { return w.f.Write(p) }

// Keep publishes the blob, which the caller has read whole and verified.
// The layer that records it is published after a syncfs, which covers it.
func (w *BlobWriter) Keep() error {
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("keep blob %s: %w", w.digest, err)
	}
	if err := os.Rename(w.f.Name(), w.s.blobPath(w.digest)); err != nil {
		return fmt.Errorf("keep blob %s: %w", w.digest, err)
	}
	w.kept = true
	return nil
}

// Close drops a blob that was not kept.
func (w *BlobWriter) Close() error {
	if w.kept {
		return nil
	}
	w.f.Close()
	return os.Remove(w.f.Name())
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
	fd, err := unix.Open(s.blobPath(d), unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
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
	return os.NewFile(uintptr(fd), s.blobPath(d)), nil
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
