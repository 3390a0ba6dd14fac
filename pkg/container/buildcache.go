package container

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"strings"
	"time"

	digest "github.com/opencontainers/go-digest"

	"github.com/layerctl/layerctl/pkg/layer"
)

// CacheEntry is what a build step made, kept under its cache key so that a
// later build with the same key reuses it.
type CacheEntry struct {
	Created time.Time     `json:"created"`          // the step's history time
	Layer   bool          `json:"layer,omitempty"`  // the step made a layer
	DiffID  digest.Digest `json:"diffID,omitempty"` // that layer
	Top     digest.Digest `json:"top,omitempty"`    // chain ID of the top layer after the step
}

// CacheGet reads a step's cache entry. An entry whose layers are gone is a
// miss.
func (c *Store) CacheGet(key digest.Digest) (CacheEntry, bool) {
	var e CacheEntry
	data, err := os.ReadFile(c.layers.Paths().BuildCacheEntry(key))
	if err != nil || json.Unmarshal(data, &e) != nil {
		return e, false
	}
	if e.Top != "" && !c.layers.Has(e.Top) {
		return e, false
	}
	return e, true
}

// CachePut records a step's cache entry.
func (c *Store) CachePut(key digest.Digest, e CacheEntry) error {
	if err := os.MkdirAll(c.layers.Paths().BuildCache(), 0o700); err != nil {
		return err
	}
	return layer.WriteFileAtomic(c.layers.Paths().BuildCacheEntry(key), mustJSON(e))
}

// pruneBuildCache drops the cache entries whose layers gc removed: the
// cache of images that are still there stays.
func (c *Store) pruneBuildCache() (int, error) {
	dir := c.layers.Paths().BuildCache()
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var n int
	for _, de := range entries {
		hex, ok := strings.CutSuffix(de.Name(), ".json")
		if !ok {
			continue
		}
		key := digest.NewDigestFromEncoded(digest.SHA256, hex)
		if _, live := c.CacheGet(key); !live {
			if err := os.Remove(c.layers.Paths().BuildCacheEntry(key)); err == nil {
				n++
			}
		}
	}
	return n, nil
}
