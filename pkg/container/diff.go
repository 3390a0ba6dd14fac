package container

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"

	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/layer"
	"github.com/layerctl/layerctl/pkg/union"
)

// Change is one line of diff: Kind is 'A' (added), 'C' (changed, it exists
// below) or 'D' (deleted); Path is absolute inside the container.
type Change struct {
	Kind byte   `json:"kind"`
	Path string `json:"path"`
}

func (c Change) String() string { return string(c.Kind) + " " + c.Path }

// Diff lists the changes in a container's read-write layer against its
// image and -init layer, through pkg/layer's change walker. On a union
// driver it walks only the rw layer, so its cost follows the change, not
// the rootfs. As Docker shows them, a whiteout is 'D', an opaque directory
// is 'D' with its new children 'A', and an entry that exists below (in the
// image or the -init layer) is 'C'; what the -init layer owns is never a
// change. The same whatever form the store keeps whiteouts in.
func (c *Store) Diff(ctx context.Context, ref string) ([]Change, error) {
	s, err := c.Resolve(ref)
	if err != nil {
		return nil, err
	}
	rw := filepath.Join(c.Dir(s.ID), "rw")
	lower := c.imageView(s, filepath.Join(c.Dir(s.ID), "init"))
	var changes []Change
	if union.Copies(c.driver) {
		changes, err = c.copyDiff(ctx, rw, lower)
	} else {
		changes, err = c.layerDiff(ctx, rw, lower)
	}
	if err != nil {
		return nil, fmt.Errorf("diff %s: %w", s.Name, err)
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].Path < changes[j].Path })
	return changes, nil
}

// layerDiff lists the changes of a union driver's rw layer.
func (c *Store) layerDiff(ctx context.Context, rw string, lower []string) ([]Change, error) {
	var changes []Change
	opts := layer.WalkOptions{Converter: c.layers.Converter(), Lower: lower, Exclude: ExcludeInit}
	err := layer.WalkChanges(ctx, rw, opts, func(ch layer.Change) error {
		switch {
		case ch.Kind == layer.Deleted && !ch.Whiteout:
			return nil // its opaque directory stands for it
		case ch.Kind == layer.Deleted || ch.Opaque:
			changes = append(changes, Change{'D', "/" + ch.Path})
		default:
			changes = append(changes, Change{kindLetter(ch.Kind), "/" + ch.Path})
		}
		return nil
	})
	return changes, err
}

// copyDiff diffs a vfs container: its rw dir is a full tree, compared with
// the image view (-init layer included) it was copied from.
func (c *Store) copyDiff(ctx context.Context, rw string, lower []string) ([]Change, error) {
	var changes []Change
	links := map[fileID][]string{}
	opts := layer.WalkOptions{Converter: c.layers.Converter(), Lower: lower, Complete: true, Unchanged: true}
	err := layer.WalkChanges(ctx, rw, opts, func(ch layer.Change) error {
		if ch.Kind != layer.Deleted && ch.Stat.Mode&unix.S_IFMT == unix.S_IFREG && ch.Stat.Nlink > 1 {
			id := fileID{ch.Stat.Dev, ch.Stat.Ino}
			links[id] = append(links[id], "/"+ch.Path)
		}
		if ch.Kind != layer.Unchanged {
			changes = append(changes, Change{kindLetter(ch.Kind), "/" + ch.Path})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Left out only now: a directory holding an -init path is still 'C',
	// as overlay copies it up.
	var kept []Change
	for _, ch := range addCopyUps(changes, links) {
		if !ExcludeInit(ch.Path[1:]) {
			kept = append(kept, ch)
		}
	}
	return kept, nil
}

func kindLetter(k layer.ChangeKind) byte {
	switch k {
	case layer.Added:
		return 'A'
	case layer.Deleted:
		return 'D'
	}
	return 'C'
}
