package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	digest "github.com/opencontainers/go-digest"

	"github.com/layerctl/layerctl/pkg/container"
)

// A step's cache key chains the key before it (at FROM: the base image's
// ID, or the stage's last key) with the instruction as written and what
// else decides its result: the values of the variables its text uses, the
// digest of COPY's sources (computed before copying, as BuildKit does),
// RUN's network and the ARGs in its environment. ENV, WORKDIR and the like
// are already in the chain.
func chainKey(parts ...string) digest.Digest {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s\n", len(p), p)
	}
	return digest.NewDigestFromEncoded(digest.SHA256, hex.EncodeToString(h.Sum(nil)))
}

// stepExtra is what decides a step's result beyond the chain and its text.
func (b *builder) stepExtra(ctx context.Context, st *stage, c instructions.Command) (string, error) {
	switch c := c.(type) {
	case *instructions.RunCommand:
		// Every ARG in scope is in RUN's environment, so in its key (as
		// in the environment of BuildKit's exec op); an ARG's value is
		// in no other step's key unless the step's text uses it.
		return "network=" + b.opts.Network + "\x00" + strings.Join(b.usedArgs(st), "\x00"), nil
	case *instructions.CopyCommand, *instructions.AddCommand:
		r := copyRequestOf(c)
		if err := r.check(); err != nil {
			return "", err
		}
		if len(r.SourceContents) > 0 { // the text after expansion, which the key's text is not
			h := sha256.New()
			for _, doc := range r.SourceContents {
				fmt.Fprintf(h, "%d:%s\n%d:%s\n", len(doc.Path), doc.Path, len(doc.Data), doc.Data)
			}
			return "heredocs " + hex.EncodeToString(h.Sum(nil)), nil
		}
		return b.sourcesDigest(ctx, r.from, r.SourcePaths)
	}
	return "", nil
}

// sourcesDigest digests what COPY would read: for --from, the source
// stage's key or image ID; else each selected context file's path, type,
// mode, link target and content digest (not its mtime). The owner --chown
// gives is in the instruction's text.
func (b *builder) sourcesDigest(ctx context.Context, from string, sources []string) (string, error) {
	if from != "" {
		for i, other := range b.built {
			if strings.EqualFold(b.stageNames[i], from) || fmt.Sprint(i) == from {
				return "stage " + other.key.String(), nil
			}
		}
		id, _, err := b.store.ImageConfigFile(from)
		if err != nil {
			return "image " + from, nil // pulled when the step runs
		}
		return "image " + id.String(), nil
	}
	src, closeSrc, err := b.contextSource()
	if err != nil {
		return "", err
	}
	defer closeSrc()
	if b.digests == nil {
		b.digests = newContextDigests(b.store.ContextDigests(b.contextDir), b.start)
	}
	dirs := newRootCache(src.root)
	defer dirs.close()
	h := sha256.New()
	for _, s := range sources {
		items, err := src.match(s)
		if err != nil {
			return "", err
		}
		for _, item := range items {
			if err := ctx.Err(); err != nil {
				return "", err
			}
			if err := src.digestTree(h, b.digests, dirs, item); err != nil {
				return "", err
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// digestTree writes a source's entries into h, in path order.
func (s source) digestTree(h io.Writer, sums *contextDigests, dirs *rootCache, item string) error {
	top, err := s.root.Stat(item) // a named symlink is copied as its target
	if err != nil {
		return fmt.Errorf("%s: %w", item, err)
	}
	if !top.IsDir() {
		key, ok := keyOf(top)
		return digestEntry(h, sums, dirs, statEntry{path: item, mode: top.Mode(), key: key}, ok)
	}
	entries, err := s.statTree(item, top)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := digestEntry(h, sums, dirs, e, true); err != nil {
			return err
		}
	}
	return nil
}

// digestEntry writes the entry e into h; hasKey is false when its stat
// key is unknown.
func digestEntry(h io.Writer, sums *contextDigests, dirs *rootCache, e statEntry, hasKey bool) error {
	// "path\0base\0mode in octal\0", made without fmt in one buffer: it
	// is written for every file of a cached rebuild.
	line := sums.line[:0]
	line = append(append(line, e.path...), 0)
	line = append(append(line, path.Base(e.path)...), 0)
	line = append(strconv.AppendUint(line, uint64(e.mode), 8), 0)
	h.Write(line)
	sums.line = line
	switch {
	case e.mode&fs.ModeSymlink != 0:
		dir, name, err := dirs.at(e.path)
		if err != nil {
			return err
		}
		link, err := dir.Readlink(name)
		if err != nil {
			return err
		}
		h.Write(append([]byte(link), 0))
	case e.mode.IsRegular():
		sum, err := sums.sum(dirs, e.path, e.key, hasKey)
		if err != nil {
			return err
		}
		h.Write(sum[:])
	}
	return nil
}

// saveContextDigests keeps the context's file digests for the next build,
// when this one learnt any.
func (b *builder) saveContextDigests() error {
	if b.digests == nil || !b.digests.changed() {
		return nil
	}
	if err := b.store.PutContextDigests(b.contextDir, b.digests.encode()); err != nil {
		return fmt.Errorf("keep context digests: %w", err)
	}
	return nil
}

// makesLayer tells the steps whose work the cache saves.
func makesLayer(c instructions.Command) bool {
	switch c.(type) {
	case *instructions.RunCommand, *instructions.CopyCommand, *instructions.AddCommand, *instructions.WorkdirCommand:
		return true
	}
	return false
}

// cachedStep applies a cache hit of a RUN, COPY, ADD or WORKDIR: its layer
// (if it made one) and its history entry.
func (b *builder) cachedStep(st *stage, e container.CacheEntry, createdBy string) {
	if e.Layer {
		b.addLayer(st, container.LayerMeta{ChainID: e.Top, DiffID: e.DiffID})
	}
	b.stepTime = e.Created
	b.addHistory(st, createdBy, !e.Layer)
}

// sameEntry tells whether two cache entries record the same result.
func sameEntry(a, b container.CacheEntry) bool {
	return a.Created.Equal(b.Created) && a.Layer == b.Layer && a.DiffID == b.DiffID && a.Top == b.Top
}

// entryFor is the cache entry of a step just run.
func entryFor(st *stage, layersBefore int, created time.Time) container.CacheEntry {
	e := container.CacheEntry{Created: created, Top: st.top}
	if ids := st.cfg.RootFS.DiffIDs; len(ids) > layersBefore {
		e.Layer, e.DiffID = true, digest.Digest(ids[len(ids)-1].String())
	}
	return e
}
