package container

import (
	"path/filepath"
	"slices"
)

type fileID struct{ dev, ino uint64 }

// addCopyUps makes a new hardlink to an unchanged file of a vfs container
// come out as overlay stores it: linking copies the file up, so the rw
// layer holds the file beside its new name, and the layer links the two.
// Overlay copies up the name linked from, which a plain tree does not tell
// when the file has several names below: the first in path order stands
// for it. links holds every name of each regular file of the tree that has
// several.
func addCopyUps(out []Change, links map[fileID][]string) []Change {
	listed := map[string]bool{}
	for _, c := range out {
		if c.Kind != 'D' {
			listed[c.Path] = true
		}
	}
	for _, names := range links {
		var changed bool
		var unchanged []string
		for _, n := range names {
			if listed[n] {
				changed = true
			} else {
				unchanged = append(unchanged, n)
			}
		}
		if !changed || len(unchanged) == 0 {
			continue
		}
		src := slices.Min(unchanged)
		// The copied-up file, and its directories as a change carries them.
		for p := src; p != "/" && !listed[p]; p = filepath.Dir(p) {
			out = append(out, Change{'C', p})
			listed[p] = true
		}
	}
	return out
}
