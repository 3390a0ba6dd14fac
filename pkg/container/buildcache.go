package container

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
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
	if err := c.pruneContextDigests(); err != nil {
		return 0, err
	}
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

// A builder keeps, for each build context, what it learnt of the context's
// files (their digests by stat) in buildcache/contexts/, one file a context
// named by the digest of its path. The file starts with the context's path
// and a NUL, so that gc can tell a context that is gone.
const maxContextDigestFiles = 16

func (c *Store) contextDigestsDir() string {
	return filepath.Join(c.layers.Paths().BuildCache(), "contexts")
}

func (c *Store) contextDigestsFile(contextDir string) string {
	return filepath.Join(c.contextDigestsDir(), digest.FromString(contextDir).Encoded())
}

// ContextDigests is what PutContextDigests kept for the context directory
// (an absolute path); nil when nothing is kept or it cannot be read.
func (c *Store) ContextDigests(contextDir string) []byte {
	data, err := os.ReadFile(c.contextDigestsFile(contextDir))
	if err != nil {
		return nil
	}
	path, rest, ok := bytes.Cut(data, []byte{0})
	if !ok || string(path) != contextDir {
		return nil
	}
	return rest
}

// PutContextDigests keeps data for the context directory, atomically. At
// most maxContextDigestFiles contexts are kept: the least recently written
// others go.
func (c *Store) PutContextDigests(contextDir string, data []byte) error {
	dir := c.contextDigestsDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	file := c.contextDigestsFile(contextDir)
	if err := layer.WriteFileAtomic(file, append(append([]byte(contextDir), 0), data...)); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) <= maxContextDigestFiles {
		return err
	}
	type aged struct {
		name string
		mod  time.Time
	}
	var files []aged
	for _, de := range entries {
		if fi, err := de.Info(); err == nil && fi.Mode().IsRegular() {
			files = append(files, aged{de.Name(), fi.ModTime()})
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].mod.After(files[j].mod) })
	for _, f := range files[min(maxContextDigestFiles, len(files)):] {
		if p := filepath.Join(dir, f.name); p != file {
			os.Remove(p)
		}
	}
	return nil
}

// pruneContextDigests drops what is kept for contexts that are gone.
func (c *Store) pruneContextDigests() error {
	dir := c.contextDigestsDir()
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, de := range entries {
		p := filepath.Join(dir, de.Name())
		if !keptContextExists(p) {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// keptContextExists tells whether the context a kept file names is still a
// directory; a file that cannot be read names none.
func keptContextExists(file string) bool {
	f, err := os.Open(file)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 4096)
	n, _ := io.ReadFull(f, head)
	path, _, ok := bytes.Cut(head[:n], []byte{0})
	if !ok || !filepath.IsAbs(string(path)) {
		return false
	}
	fi, err := os.Stat(string(path))
	return err == nil && fi.IsDir()
}
