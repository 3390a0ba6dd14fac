package explore

import (
	"path"
	"sort"
	"strings"

	"github.com/layerctl/layerctl/pkg/layer"
)

// ViewEntry is one path of the image as of a layer, as the file tree shows it.
type ViewEntry struct {
	Path string
	Dir  bool
	// Size is a file's content bytes, a directory's total below it.
	Size int64
	// Kind is what the selected layer did to it: Added, Modified, Deleted
	// (shown as removed) or Unchanged.
	Kind layer.ChangeKind
	// Layer is the index of the layer whose diff dir holds the shown copy
	// (-1 for a removed path).
	Layer int
}

// View is the file tree of an image as of one layer.
type View struct {
	entries  map[string]*ViewEntry
	children map[string][]*ViewEntry // by parent path, sorted by name
}

// NewView is the tree as of layer idx: with all, everything layers 0..idx
// make (what the layer left untouched as Unchanged), else only the changes
// of layer idx and the directories that lead to them.
func NewView(layers [][]File, idx int, all bool) *View {
	v := &View{entries: map[string]*ViewEntry{}}
	if all {
		for i := 0; i < idx; i++ {
			v.apply(layers[i], i)
		}
	}
	for _, f := range layers[idx] {
		if f.Kind != layer.Deleted {
			continue
		}
		e := &ViewEntry{Path: f.Path, Kind: layer.Deleted, Layer: -1}
		if old, ok := v.entries[f.Path]; ok {
			e.Dir = old.Dir
			v.remove(f.Path)
		}
		v.entries[f.Path] = e
	}
	for _, f := range layers[idx] {
		if f.Kind == layer.Deleted {
			continue
		}
		if !f.Dir { // a file or link in place of a directory hides what it held
			v.remove(f.Path)
		}
		v.entries[f.Path] = &ViewEntry{Path: f.Path, Dir: f.Dir, Size: f.Size, Kind: f.Kind, Layer: idx}
	}
	v.index()
	return v
}

// apply lays the changes of layer i over the view, all Unchanged.
func (v *View) apply(files []File, i int) {
	for _, f := range files {
		if f.Kind == layer.Deleted {
			v.remove(f.Path)
			continue
		}
		if f.Opaque || !f.Dir {
			v.remove(f.Path)
		}
		v.entries[f.Path] = &ViewEntry{Path: f.Path, Dir: f.Dir, Size: f.Size, Kind: layer.Unchanged, Layer: i}
	}
}

// remove drops p and everything below it.
func (v *View) remove(p string) {
	e, ok := v.entries[p]
	if !ok {
		return
	}
	delete(v.entries, p)
	if e.Dir {
		prefix := p + "/"
		for q := range v.entries {
			if strings.HasPrefix(q, prefix) {
				delete(v.entries, q)
			}
		}
	}
}

// index adds the missing parent directories, sums directory sizes and
// groups the entries by parent.
func (v *View) index() {
	v.children = map[string][]*ViewEntry{}
	paths := make([]string, 0, len(v.entries))
	for p := range v.entries {
		paths = append(paths, p)
	}
	for _, p := range paths {
		for d := path.Dir(p); d != "/"; d = path.Dir(d) {
			if _, ok := v.entries[d]; ok {
				break
			}
			v.entries[d] = &ViewEntry{Path: d, Dir: true, Kind: layer.Unchanged, Layer: -1}
		}
	}
	for p, e := range v.entries {
		if !e.Dir && e.Kind != layer.Deleted {
			for d := path.Dir(p); d != "/"; d = path.Dir(d) {
				v.entries[d].Size += e.Size
			}
		}
		v.children[path.Dir(p)] = append(v.children[path.Dir(p)], e)
	}
	for _, c := range v.children {
		sort.Slice(c, func(i, j int) bool { return c[i].Path < c[j].Path })
	}
}

// Len is how many paths the view holds.
func (v *View) Len() int { return len(v.entries) }

// Children are the entries directly under dir ("/" for the root), by name
// or, with bySize, the largest first.
func (v *View) Children(dir string, bySize bool) []*ViewEntry {
	c := v.children[dir]
	if bySize {
		c = append([]*ViewEntry(nil), c...)
		sort.SliceStable(c, func(i, j int) bool { return c[i].Size > c[j].Size })
	}
	return c
}

// Visible are the paths to show when some kinds are hidden or a filter is
// set: each entry of a shown kind whose path holds filter, and its parents.
// nil means all.
func (v *View) Visible(hidden map[layer.ChangeKind]bool, filter string) map[string]bool {
	if filter == "" && len(hidden) == 0 {
		return nil
	}
	vis := map[string]bool{}
	for p, e := range v.entries {
		if hidden[e.Kind] || (e.Dir && e.Kind == layer.Unchanged && len(hidden) > 0) || !strings.Contains(p, filter) {
			continue
		}
		for d := p; d != "/" && !vis[d]; d = path.Dir(d) {
			vis[d] = true
		}
	}
	return vis
}
