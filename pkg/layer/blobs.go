package layer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	digest "github.com/opencontainers/go-digest"
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
