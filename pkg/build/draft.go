package build

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/layerctl/layerctl/pkg/container"
)

// A COPY writes its files straight into a new layer's diff dir (a draft)
// when the result is what a container of the stage's image would have in
// its rw layer after the same writes: parent directories the image has are
// copied up as overlayfs would, and a write that would go through a symlink
// of the image, turn a directory opaque, keep a lower file's xattrs or land
// on an -init layer path is not plain: the COPY then goes through a
// container as before.

// errNotPlain sends a COPY through a container.
var errNotPlain = errors.New("not a plain write into a new layer")

// draftView tells what the image below a draft shows, listing each
// directory of it once.
type draftView struct {
	draft *container.LayerDraft
	below map[string]map[string]container.BelowEntry
	fresh map[string]bool // directories made in the draft that the image has not
	clamp time.Time       // the build's SOURCE_DATE_EPOCH, zero for none
}

func newDraftView(d *container.LayerDraft, clamp time.Time) *draftView {
	return &draftView{draft: d, below: map[string]map[string]container.BelowEntry{}, fresh: map[string]bool{}, clamp: clamp}
}

// entry returns what the image shows at rel (relative, cleaned); ok is
// false when it shows nothing there.
func (v *draftView) entry(rel string) (e container.BelowEntry, ok bool, err error) {
	dir, name := path.Split(rel)
	dir = strings.TrimSuffix(dir, "/")
	for d := dir; d != "" && d != "."; d = path.Dir(d) {
		if v.fresh[d] {
			return e, false, nil
		}
	}
	list, listed := v.below[dir]
	if !listed {
		if list, err = v.draft.Below(dir); err != nil {
			return e, false, err
		}
		v.below[dir] = list
	}
	e, ok = list[name]
	return e, ok, nil
}

// prepare readies rel for an entry the COPY writes there (a directory when
// isDir): a directory the image has is copied up first, and a write that is
// no plain one is refused with errNotPlain. Outside a draft it does nothing.
func (t target) prepare(rel string, isDir bool) error {
	v := t.draft
	if v == nil || rel == "." || rel == "" {
		return nil
	}
	e, ok, err := v.entry(rel)
	switch {
	case err != nil:
		return err
	case !ok:
		if isDir {
			v.fresh[rel] = true
		}
		return nil
	case !e.Plain:
		return errNotPlain
	case !isDir:
		if e.Mode.IsRegular() || e.Mode&fs.ModeSymlink != 0 {
			return nil // replaced, as a container's write replaces it
		}
		return errNotPlain
	case !e.Mode.IsDir():
		return errNotPlain // the directory would be opaque
	}
	if fi, err := t.root.Lstat(rel); err == nil {
		if fi.IsDir() {
			return nil // copied up already
		}
		return errNotPlain
	}
	return v.draft.CopyUp(rel, e)
}

// mkdirDraft is mkdirAll in a draft: a directory the image has is copied
// up, one it has not is made.
func (t target) mkdirDraft(rel string) error {
	if rel == "." || rel == "" {
		return nil
	}
	if fi, err := t.root.Lstat(rel); err == nil {
		switch {
		case fi.IsDir():
			return nil
		case fi.Mode()&fs.ModeSymlink != 0:
			return errNotPlain
		}
		return fmt.Errorf("/%s is not a directory", rel)
	}
	if err := t.mkdirDraft(path.Dir(rel)); err != nil {
		return err
	}
	e, ok, err := t.draft.entry(rel)
	switch {
	case err != nil:
		return err
	case ok && (!e.Plain || !e.Mode.IsDir()):
		return errNotPlain // a symlink is followed, a file fails: as a container does
	case ok:
		return t.draft.draft.CopyUp(rel, e)
	}
	t.draft.fresh[rel] = true
	if err := t.root.Mkdir(rel, 0o755); err != nil {
		return err
	}
	return t.root.Lchown(rel, t.uid, t.gid)
}

// isDir tells whether the COPY's container would show a directory at rel.
func (t target) isDir(rel string) (bool, error) {
	if t.draft == nil {
		fi, err := t.root.Stat(rel)
		return err == nil && fi.IsDir(), nil
	}
	if rel == "." {
		return true, nil
	}
	if fi, err := t.root.Lstat(rel); err == nil {
		if fi.Mode()&fs.ModeSymlink != 0 {
			return false, errNotPlain
		}
		return fi.IsDir(), nil
	}
	e, ok, err := t.draft.entry(rel)
	if err != nil || !ok {
		return false, err
	}
	if e.Mode&fs.ModeSymlink != 0 {
		return false, errNotPlain
	}
	return e.Mode.IsDir(), nil
}

// numericChown tells whether a --chown names no user or group that only
// the image's /etc/passwd or /etc/group could resolve.
func numericChown(spec string) bool {
	if spec == "" {
		return true
	}
	for _, part := range strings.SplitN(spec, ":", 2) {
		if n, err := strconv.Atoi(part); err != nil || n < 0 {
			return false
		}
	}
	return true
}
