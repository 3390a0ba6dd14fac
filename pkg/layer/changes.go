package layer

import (
	"context"
	"fmt"

	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/whiteout"
)

// ChangeKind says how a path of an upper tree changes the lower view.
type ChangeKind int

const (
	// Added: no lower layer shows the path (or an opaque directory or a
	// same-layer whiteout above it hides what they had).
	Added ChangeKind = iota + 1
	// Modified: a lower layer shows the path and the upper tree has an entry
	// there too, which replaces it (its content, mode, owner, type, xattrs
	// or link target may differ; a directory may only hold changes).
	Modified
	// Deleted: the path is gone from the merged view, by a whiteout in the
	// upper tree or because an opaque directory of the upper tree hides it.
	Deleted
	// Unchanged: an entry of a complete upper tree equal to the one the
	// lower layers show. Yielded only when WalkOptions.Unchanged asks.
	Unchanged
)

func (k ChangeKind) String() string {
	switch k {
	case Added:
		return "added"
	case Modified:
		return "modified"
	case Deleted:
		return "deleted"
	case Unchanged:
		return "unchanged"
	}
	return fmt.Sprintf("ChangeKind(%d)", int(k))
}

// Change is one path that an upper tree (a layer's diff dir, a container's
// read-write dir) changes in the view of the layers below it.
type Change struct {
	Kind ChangeKind
	// Path is relative to the tree's root, slash-separated, without a
	// leading slash: "etc/passwd". Never empty: the root is no change.
	Path string
	// Source is the absolute path of the upper entry: the entry itself for
	// Added and Modified, the whiteout for a Deleted change that has one,
	// empty for a deletion that an opaque parent implies.
	Source string
	// Stat is the lstat of Source (zero when Source is empty). For Added and
	// Modified it holds the entry's type, mode, owner, size, times, device
	// and inode.
	Stat unix.Stat_t
	// Lower is the lstat of the entry the lower layers show at Path, nil if
	// they show none (always nil for Added).
	Lower *unix.Stat_t
	// LowerSource is the absolute path of that lower entry, empty if none.
	LowerSource string
	// Whiteout marks a Deleted change that the upper tree records with a
	// whiteout of its own (a layer tar writes ".wh.NAME" for it). A Deleted
	// change without it is implied by an opaque parent.
	Whiteout bool
	// Opaque marks a directory of the upper tree that hides every child the
	// lower layers have there (the tar's ".wh..wh..opq"). Those that the
	// upper tree does not replace follow as Deleted changes.
	Opaque bool
	// Link, for a regular file with several names in the upper tree, is the
	// Path this walk yielded first for the same inode; empty for that first
	// name and for a file with one name. A tar writes it as a hardlink.
	Link string
}

// WalkOptions configure WalkChanges.
type WalkOptions struct {
	// Converter reads the whiteouts of the upper and lower trees in their
	// native form (the store's Converter). Required.
	Converter whiteout.Converter
	// Lower are the diff dirs below the upper tree, nearest first; empty
	// when the upper tree is a base layer.
	Lower []string
	// Exclude leaves out a path (relative, as Change.Path) and, for a
	// directory, everything under it; a whiteout is left out when the path
	// it deletes is.
	Exclude func(rel string) bool
	// Complete says that upper is a whole tree, not a diff (the vfs
	// driver's copy of its image): its names are all plain, an entry equal
	// to the one the lower layers show (type, mode, owner, device, size and
	// mtime of a file, xattrs, link target) is no change, a lower entry it
	// lacks is Deleted, and a directory is Modified when its attributes
	// differ or it holds a change (as Docker's vfs diff reports it).
	Complete bool
	// Unchanged, with Complete, also yields the equal entries, as Kind
	// Unchanged (to learn every name of a hardlinked file, say).
	Unchanged bool
}

// WalkChanges calls fn with each change that the diff dir upper makes to the
// view of opts.Lower, as a union mount with upper on top would show it, in a
// deterministic order: depth first, the names of one directory sorted
// bytewise, a directory before what it holds. Each entry of upper is a change
// (Added or Modified), each whiteout a Deleted change, and each lower child
// that an opaque directory hides and upper does not replace a Deleted
// change; driver bookkeeping is skipped. The root itself is no change. A
// Deleted directory stands for everything under it: what it held is not
// listed, and neither is what an Added or Modified non-directory hides.
//
// It reads only: no root needed, nothing opened but directories. An error
// from fn stops the walk and is returned as is; ctx is checked once per
// directory.
func WalkChanges(ctx context.Context, upper string, opts WalkOptions, fn func(Change) error) error {
	if opts.Converter == nil {
		return fmt.Errorf("walk changes of %s: no whiteout converter", upper)
	}
	w := &walker{ctx: ctx, opts: opts, fn: fn, links: map[inodeKey]string{}}
	err := w.root(upper)
	if err != nil && !w.fnFailed {
		return fmt.Errorf("walk changes of %s: %w", upper, err)
	}
	return err
}

// LayerChanges calls fn with each change that the layer chainID makes to the
// view of the layers beneath it (its parents in the store), as WalkChanges
// does. With the layers of an image, top one first, it tells what each layer
// adds, modifies and deletes.
func (s *Store) LayerChanges(ctx context.Context, chainID digest.Digest, fn func(Change) error) error {
	m, err := s.Get(chainID)
	if err != nil {
		return err
	}
	var lower []string
	for id := m.Parent; id != ""; {
		pm, err := s.Get(id)
		if err != nil {
			return err
		}
		lower = append(lower, s.DiffDir(id))
		id = pm.Parent
	}
	return WalkChanges(ctx, s.DiffDir(chainID), WalkOptions{Converter: s.conv, Lower: lower}, fn)
}
