package explore

import (
	"path"
	"sort"
	"strings"

	"github.com/layerctl/layerctl/pkg/layer"
)

// File is one change a layer makes, as the figures read it.
type File struct {
	Path string // absolute: "/etc/passwd"
	Kind layer.ChangeKind
	// Size is the content bytes the layer stores for it: a regular file's
	// size, 0 for anything else and for a further name of a hardlinked file.
	Size   int64
	Dir    bool
	Opaque bool
	// Link, for a further name of a file hardlinked within the layer, is
	// the first name (absolute); the content is stored once, under it.
	Link string
}

// Inefficiency is a path with copies the final image does not show.
type Inefficiency struct {
	Path        string `json:"path"`
	Count       int    `json:"count"` // copies of the file in all layers
	WastedBytes int64  `json:"wastedBytes"`
}

// Figures are an image's sizes and waste, computed from its layers' changes.
type Figures struct {
	LayerSizes      []int64 // content bytes of each layer, base first
	SizeBytes       int64
	WastedBytes     int64
	UserSizeBytes   int64 // the layers from index base up
	UserWastedBytes int64 // hidden copies that a user layer hides
	// Efficiency is (SizeBytes - WastedBytes) / SizeBytes, 1 for no bytes.
	Efficiency float64
	// UserWastedPercent is UserWastedBytes / UserSizeBytes (a ratio, as
	// dive's), 0 for no user bytes.
	UserWastedPercent float64
	// Inefficiencies, the most wasted bytes first.
	Inefficiencies []Inefficiency
}

// hider records, top layer down, which paths a layer above hides: at which
// nearest layer a lower copy of a path, or of anything under it, disappears.
type hider struct {
	entry   map[string]int // an upper layer has an entry at the path
	subtree map[string]int // an upper layer hides what lower layers have under the path
}

// hiddenBy is the nearest layer above that hides a copy of p, -1 if none.
func (h hider) hiddenBy(p string) int {
	by := -1
	nearer := func(i int, ok bool) {
		if ok && (by < 0 || i < by) {
			by = i
		}
	}
	i, ok := h.entry[p]
	nearer(i, ok)
	for a := path.Dir(p); ; a = path.Dir(a) {
		i, ok := h.subtree[a]
		nearer(i, ok)
		if a == "/" {
			return by
		}
	}
}

// add records the changes of layer idx for the layers below it.
func (h hider) add(idx int, files []File) {
	for _, f := range files {
		h.entry[f.Path] = idx
		// A deletion, a non-directory, an opaque dir and an added dir (its
		// lower namesake, if any, was hidden by a whiteout or opaque
		// parent) all hide whatever lower layers have below the path.
		if f.Kind == layer.Deleted || !f.Dir || f.Opaque || f.Kind == layer.Added {
			h.subtree[f.Path] = idx
		}
	}
}

// Compute reckons the figures of layers (each layer's changes, base first);
// the layers from index base up are the user's.
func Compute(layers [][]File, base int) Figures {
	fig := Figures{LayerSizes: make([]int64, len(layers)), Efficiency: 1}
	h := hider{entry: map[string]int{}, subtree: map[string]int{}}
	wasted := map[string]int64{}
	copies := map[string]int{}
	for idx := len(layers) - 1; idx >= 0; idx-- {
		for _, g := range contentGroups(layers[idx]) {
			fig.LayerSizes[idx] += g.size
			copies[g.names[0]]++
			by := -1 // the content is hidden when its last name is
			for _, n := range g.names {
				b := h.hiddenBy(n)
				if b < 0 {
					by = -1
					break
				}
				by = max(by, b)
			}
			if by < 0 {
				continue
			}
			wasted[g.names[0]] += g.size
			fig.WastedBytes += g.size
			if by >= base {
				fig.UserWastedBytes += g.size
			}
		}
		h.add(idx, layers[idx])
	}
	for idx, n := range fig.LayerSizes {
		fig.SizeBytes += n
		if idx >= base {
			fig.UserSizeBytes += n
		}
	}
	if fig.SizeBytes > 0 {
		fig.Efficiency = float64(fig.SizeBytes-fig.WastedBytes) / float64(fig.SizeBytes)
	}
	if fig.UserSizeBytes > 0 {
		fig.UserWastedPercent = float64(fig.UserWastedBytes) / float64(fig.UserSizeBytes)
	}
	for p, n := range wasted {
		if n > 0 {
			fig.Inefficiencies = append(fig.Inefficiencies, Inefficiency{Path: p, Count: copies[p], WastedBytes: n})
		}
	}
	sort.Slice(fig.Inefficiencies, func(i, j int) bool {
		a, b := fig.Inefficiencies[i], fig.Inefficiencies[j]
		if a.WastedBytes != b.WastedBytes {
			return a.WastedBytes > b.WastedBytes
		}
		return strings.Compare(a.Path, b.Path) < 0
	})
	return fig
}

// contentGroup is one copy of file content in a layer with all its names.
type contentGroup struct {
	names []string // the first name first
	size  int64
}

// contentGroups are the file copies a layer stores: each non-directory it
// adds or modifies, its hardlinked names together.
func contentGroups(files []File) []contentGroup {
	var groups []contentGroup
	at := map[string]int{}
	for _, f := range files {
		if f.Kind == layer.Deleted || f.Dir {
			continue
		}
		if i, ok := at[f.Link]; ok && f.Link != "" {
			groups[i].names = append(groups[i].names, f.Path)
			continue
		}
		at[f.Path] = len(groups)
		groups = append(groups, contentGroup{names: []string{f.Path}, size: f.Size})
	}
	return groups
}
