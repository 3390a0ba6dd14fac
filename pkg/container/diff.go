package container

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/layer"
	"github.com/layerctl/layerctl/pkg/union"
	"github.com/layerctl/layerctl/pkg/whiteout"
)

// Change is one line of diff: Kind is 'A' (added), 'C' (changed, it exists
// below) or 'D' (deleted); Path is absolute inside the container.
type Change struct {
	Kind byte   `json:"kind"`
	Path string `json:"path"`
}

func (c Change) String() string { return string(c.Kind) + " " + c.Path }

// Diff lists the changes in a container's read-write layer. It walks only
// that layer, so its cost follows the change, not the rootfs. As Docker shows
// them, a whiteout is 'D', an opaque directory is 'D' with its new children
// 'A', and an entry that exists below (in the image or the -init layer) is 'C';
// the same whatever form the store keeps whiteouts in.
func (c *Store) Diff(ref string) ([]Change, error) {
	s, err := c.Resolve(ref)
	if err != nil {
		return nil, err
	}
	rw := filepath.Join(c.Dir(s.ID), "rw")
	initDir := filepath.Join(c.Dir(s.ID), "init")
	if union.Copies(c.driver) {
		return c.copyDiff(s, initDir, rw)
	}
	conv := c.layers.Converter()
	var chain *layer.Chain
	if s.Top() != "" {
		if chain, err = c.layers.OpenChain(s.Top()); err != nil {
			return nil, fmt.Errorf("diff %s: %w", s.Name, err)
		}
		defer chain.Close()
	}
	// fresh holds the directories whose every child is new: added ones
	// and opaque ones. Their children need no lookup below (and in an
	// opaque one, what is below is hidden anyway).
	fresh := map[string]bool{}
	var changes []Change
	err = filepath.WalkDir(rw, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path == rw {
			return nil
		}
		rel := path[len(rw):]
		// As in a commit: what the -init layer owns is never a change.
		if layer.ExcludeInit(rel[1:]) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if conv.Passthrough() {
			// The files form (aufs): whiteouts and markers are names.
			switch kind, target := whiteout.Classify(d.Name()); kind {
			case whiteout.Meta:
				// aufs's own bookkeeping (plnk, orph, xino): never a change.
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			case whiteout.Opaque:
				return nil // its directory is listed as opaque
			case whiteout.Whiteout:
				deleted := filepath.Join(filepath.Dir(rel), target)
				if !whiteout.ValidTarget(target) || layer.ExcludeInit(deleted[1:]) {
					return nil
				}
				// A name and its whiteout in one layer: the name stays.
				if present, err := exists(filepath.Join(filepath.Dir(path), target)); err != nil || present {
					return err
				}
				changes = append(changes, Change{'D', deleted})
				return nil
			}
		}
		var st unix.Stat_t
		if err := unix.Lstat(path, &st); err != nil {
			return err
		}
		if conv.IsWhiteout(&st) {
			changes = append(changes, Change{'D', rel})
			return nil
		}
		if d.IsDir() {
			if opaque, err := isOpaque(conv, path); err != nil {
				return err
			} else if opaque {
				fresh[rel] = true
				changes = append(changes, Change{'D', rel})
				return nil
			}
		}
		below := false
		if !fresh[filepath.Dir(rel)] {
			if below, err = existsBelow(chain, initDir, rel); err != nil {
				return err
			}
		}
		kind := byte('A')
		if below {
			kind = 'C'
		} else if d.IsDir() {
			fresh[rel] = true
		}
		changes = append(changes, Change{kind, rel})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("diff %s: %w", s.Name, err)
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].Path < changes[j].Path })
	return changes, nil
}

// isOpaque tells whether a directory of the rw layer hides its lower
// children: the native mark, or in the files form the marker inside it.
func isOpaque(conv whiteout.Converter, dir string) (bool, error) {
	if !conv.Passthrough() {
		return conv.IsOpaque(dir)
	}
	return exists(filepath.Join(dir, whiteout.OpaqueMarker))
}

// exists tells whether path names an entry (never followed if a symlink).
func exists(path string) (bool, error) {
	var st unix.Stat_t
	err := unix.Lstat(path, &st)
	if errors.Is(err, unix.ENOENT) {
		return false, nil
	}
	return err == nil, err
}

// existsBelow tells whether path exists in the -init layer or the image.
func existsBelow(chain *layer.Chain, initDir, path string) (bool, error) {
	var st unix.Stat_t
	err := unix.Lstat(initDir+path, &st)
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ENOTDIR) {
		return false, err
	}
	if chain == nil {
		return false, nil
	}
	return chain.Exists(strings.TrimPrefix(path, "/"))
}

// copyDiff diffs a vfs container: its rw dir is a full tree, compared with
// the image view (-init layer included) merged afresh from hardlinks.
func (c *Store) copyDiff(s State, initDir, rw string) ([]Change, error) {
	tmp, err := c.layers.TempDir("diff-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if err := union.Materialise(tmp, c.imageView(s, initDir), c.layers.Converter(), union.MaterialiseOptions{Link: true}); err != nil {
		return nil, fmt.Errorf("diff %s: %w", s.Name, err)
	}
	all, err := treeDiff(tmp, rw)
	if err != nil {
		return nil, fmt.Errorf("diff %s: %w", s.Name, err)
	}
	var changes []Change
	for _, ch := range all {
		if !layer.ExcludeInit(ch.Path[1:]) {
			changes = append(changes, ch)
		}
	}
	return changes, nil
}
