package container

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"

	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/whiteout"
)

// treeDiff lists the changes that turn the tree lower into the tree upper,
// both plain directories (the vfs driver's image view and its full copy). A
// directory holding a change is itself 'C', as Docker reports it: its
// attributes travel with the change.
func treeDiff(lower, upper string) ([]Change, error) {
	var out []Change
	_, err := diffDir(lower, upper, "/", &out)
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, err
}

// diffDir compares the children of lower and upper (two existing dirs) and
// reports whether anything below changed.
func diffDir(lower, upper, rel string, out *[]Change) (bool, error) {
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
			*out = append(*out, Change{'D', filepath.Join(rel, name)})
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
			if err := addAll(u, p, &ust, out); err != nil {
				return false, err
			}
			continue
		}
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
				*out = append(*out, Change{'C', p})
				changed = true
				if isDir(&ust) {
					if err := addChildren(u, p, out); err != nil {
						return false, err
					}
				}
			}
			continue
		}
		below, err := diffDir(l, u, p, out)
		if err != nil {
			return false, err
		}
		if below || !same {
			*out = append(*out, Change{'C', p})
			changed = true
		}
	}
	return changed, nil
}

// addAll reports an added entry and, for a directory, everything under it.
func addAll(path, rel string, st *unix.Stat_t, out *[]Change) error {
	*out = append(*out, Change{'A', rel})
	if !isDir(st) {
		return nil
	}
	return addChildren(path, rel, out)
}

func addChildren(path, rel string, out *[]Change) error {
	children, err := names(path)
	if err != nil {
		return err
	}
	for name := range children {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(path, name), &st); err != nil {
			return err
		}
		if err := addAll(filepath.Join(path, name), filepath.Join(rel, name), &st, out); err != nil {
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
