package container

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/whiteout"
)

// treeDiff lists the changes that turn the tree lower into the tree upper,
// both plain directories (the vfs driver's image view and its full copy). A
// directory holding a change is itself 'C', as Docker reports it: its
// attributes travel with the change.
func treeDiff(lower, upper string) ([]Change, error) {
	t := &treeDiffer{links: map[fileID][]string{}}
	_, err := t.diffDir(lower, upper, "/")
	if err != nil {
		return nil, err
	}
	t.addCopyUps()
	sort.Slice(t.out, func(i, j int) bool { return t.out[i].Path < t.out[j].Path })
	return t.out, nil
}

type fileID struct{ dev, ino uint64 }

type treeDiffer struct {
	out []Change
	// links holds the names of each regular file of upper that has several.
	links map[fileID][]string
}

// seen notes an entry of upper at rel.
func (t *treeDiffer) seen(rel string, st *unix.Stat_t) {
	if st.Mode&unix.S_IFMT == unix.S_IFREG && st.Nlink > 1 {
		id := fileID{uint64(st.Dev), st.Ino}
		t.links[id] = append(t.links[id], rel)
	}
}

// addCopyUps makes a new hardlink to an unchanged file come out as overlay
// stores it: linking copies the file up, so the rw layer holds the file
// beside its new name, and the layer links the two. Overlay copies up the
// name linked from, which a plain tree does not tell when the file has
// several names below: the first in path order stands for it.
func (t *treeDiffer) addCopyUps() {
	listed := map[string]bool{}
	for _, c := range t.out {
		if c.Kind != 'D' {
			listed[c.Path] = true
		}
	}
	for _, names := range t.links {
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
			t.out = append(t.out, Change{'C', p})
			listed[p] = true
		}
	}
}

// diffDir compares the children of lower and upper (two existing dirs) and
// reports whether anything below changed.
func (t *treeDiffer) diffDir(lower, upper, rel string) (bool, error) {
	lnames, err := names(lower)
	if err != nil {
		return false, err
	}
	unames, err := names(upper)
	if err != nil {
		return false, err
	}
	changed := false
	for name := range lnames {
		if !unames[name] {
			t.out = append(t.out, Change{'D', filepath.Join(rel, name)})
			changed = true
		}
	}
	for name := range unames {
		p := filepath.Join(rel, name)
		u := filepath.Join(upper, name)
		var ust unix.Stat_t
		if err := unix.Lstat(u, &ust); err != nil {
			return false, err
		}
		if !lnames[name] {
			changed = true
			if err := t.addAll(u, p, &ust); err != nil {
				return false, err
			}
			continue
		}
		t.seen(p, &ust)
		l := filepath.Join(lower, name)
		var lst unix.Stat_t
		if err := unix.Lstat(l, &lst); err != nil {
			return false, err
		}
		same, err := sameEntry(l, u, &lst, &ust)
		if err != nil {
			return false, err
		}
		bothDirs := isDir(&lst) && isDir(&ust)
		if !bothDirs {
			if !same {
				// A type change: the old entry goes, the new one comes.
				t.out = append(t.out, Change{'C', p})
				changed = true
				if isDir(&ust) {
					if err := t.addChildren(u, p); err != nil {
						return false, err
					}
				}
			}
			continue
		}
		below, err := t.diffDir(l, u, p)
		if err != nil {
			return false, err
		}
		if below || !same {
			t.out = append(t.out, Change{'C', p})
			changed = true
		}
	}
	return changed, nil
}

// addAll reports an added entry and, for a directory, everything under it.
func (t *treeDiffer) addAll(path, rel string, st *unix.Stat_t) error {
	t.seen(rel, st)
	t.out = append(t.out, Change{'A', rel})
	if !isDir(st) {
		return nil
	}
	return t.addChildren(path, rel)
}

func (t *treeDiffer) addChildren(path, rel string) error {
	children, err := names(path)
	if err != nil {
		return err
	}
	for name := range children {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(path, name), &st); err != nil {
			return err
		}
		if err := t.addAll(filepath.Join(path, name), filepath.Join(rel, name), &st); err != nil {
			return err
		}
	}
	return nil
}

// sameEntry compares what a layer records of an entry: type, mode, owner,
// device, times and size of a file (as Docker's vfs differ does, without
// reading contents), a symlink's target.
func sameEntry(l, u string, a, b *unix.Stat_t) (bool, error) {
	if a.Mode != b.Mode || a.Uid != b.Uid || a.Gid != b.Gid || a.Rdev != b.Rdev {
		return false, nil
	}
	switch a.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return true, nil
	case unix.S_IFLNK:
		lt, err := os.Readlink(l)
		if err != nil {
			return false, err
		}
		ut, err := os.Readlink(u)
		return lt == ut, err
	}
	if a.Size != b.Size || a.Mtim != b.Mtim {
		return false, nil
	}
	return sameXattrs(l, u)
}

func sameXattrs(l, u string) (bool, error) {
	ln, err := whiteout.ListXattrs(l)
	if err != nil {
		return false, err
	}
	un, err := whiteout.ListXattrs(u)
	if err != nil || len(ln) != len(un) {
		return false, err
	}
	for _, name := range ln {
		lv, err := whiteout.GetXattr(l, name)
		if err != nil {
			return false, err
		}
		uv, err := whiteout.GetXattr(u, name)
		if err != nil || !bytes.Equal(lv, uv) {
			return false, nil // missing above or another value
		}
	}
	return true, nil
}

func isDir(st *unix.Stat_t) bool { return st.Mode&unix.S_IFMT == unix.S_IFDIR }

func names(dir string) (map[string]bool, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	list, err := f.Readdirnames(-1)
	set := make(map[string]bool, len(list))
	for _, n := range list {
		set[n] = true
	}
	return set, err
}
