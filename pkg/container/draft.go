package container

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path"
	"time"

	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/layer"
)

// A LayerDraft is a new layer written in place, for a builder's COPY: a
// diff dir it writes the added files into, and the view of the image below
// as a container of that image would show it (its -init layer included),
// so that what the draft holds is what the container's rw layer would.
// Writing through a container and committing its changes writes every file
// twice and needs a mount; a draft writes each once.
type LayerDraft struct {
	staged *layer.Staged
	layers *layer.Store
	top    digest.Digest
	// Dir is the diff dir to write into.
	Dir string
}

// BelowEntry is what the image below a draft shows at a name.
type BelowEntry struct {
	Mode fs.FileMode // type and permission bits
	// Plain tells that writing at the name in the draft does what writing
	// there in a container would do: false for the -init layer's paths
	// (a commit leaves them out) and for a non-directory with xattrs (a
	// container's write would copy them up and keep them).
	Plain bool
	lower string // the entry in its layer's diff dir; "" for the -init layer's
}

// DraftLayer starts a layer over the layer top ("" for none).
func (c *Store) DraftLayer(top digest.Digest) (*LayerDraft, error) {
	st, err := c.layers.Stage()
	if err != nil {
		return nil, err
	}
	return &LayerDraft{staged: st, layers: c.layers, top: top, Dir: st.Dir}, nil
}

// Below lists the directory dir ("" for the root) of the image below, as
// a container shows it; nil when the image has no directory there.
func (d *LayerDraft) Below(dir string) (map[string]BelowEntry, error) {
	list, err := d.layers.ListInChain(d.top, dir)
	if errors.Is(err, fs.ErrNotExist) && dir != "etc" {
		return nil, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	out := make(map[string]BelowEntry, len(list))
	for name, p := range list {
		fi, err := os.Lstat(p)
		if err != nil {
			return nil, err
		}
		e := BelowEntry{Mode: fi.Mode(), Plain: true, lower: p}
		if !fi.IsDir() {
			own, err := d.layers.HasOwnXattrs(p)
			if err != nil {
				return nil, err
			}
			e.Plain = !own
		}
		out[name] = e
	}
	// The -init layer's /etc, a directory of its own, hides the image's
	// (when that is no directory, writing there is no plain write).
	if dir == "" {
		if e, ok := out["etc"]; !ok || e.Mode.IsDir() {
			out["etc"] = BelowEntry{Mode: fs.ModeDir | 0o755, Plain: true}
		} else {
			out["etc"] = BelowEntry{Mode: e.Mode}
		}
	}
	for _, e := range initLayer {
		if parent, name := path.Split(e.path); path.Clean("./"+parent) == path.Clean("./"+dir) {
			out[name] = BelowEntry{Mode: e.mode}
		}
	}
	return out, nil
}

// CopyUp makes the directory rel in the draft, whose parent the draft has,
// as a container's first write below it would: with the attributes the
// image below gives it in e.
func (d *LayerDraft) CopyUp(rel string, e BelowEntry) error {
	if e.lower != "" {
		return d.staged.CopyUp(rel, e.lower)
	}
	// The -init layer's /etc: 0755, root's, made with the container.
	p := path.Join(d.Dir, rel)
	var pst unix.Stat_t
	if err := unix.Lstat(path.Dir(p), &pst); err != nil {
		return err
	}
	if err := os.Mkdir(p, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(p, 0o755); err != nil {
		return err
	}
	return unix.UtimesNanoAt(unix.AT_FDCWD, path.Dir(p), []unix.Timespec{pst.Atim, pst.Mtim}, unix.AT_SYMLINK_NOFOLLOW)
}

// Commit stores the draft as a layer over its image's top, its mtimes
// capped at clamp when that is not zero. changed is false, and no layer is
// stored, when nothing was written.
func (d *LayerDraft) Commit(ctx context.Context, clamp time.Time) (m LayerMeta, changed bool, err error) {
	empty, err := d.staged.Empty()
	if err != nil || empty {
		return LayerMeta{}, false, err
	}
	m, _, err = d.staged.Register(ctx, d.top, clamp)
	return m, err == nil, err
}

// Discard removes what is left of the draft (after Commit, nothing).
func (d *LayerDraft) Discard() { d.staged.Discard() }
