package layer

import (
	"bytes"
	"os"

	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/whiteout"
)

// sameEntry compares what a layer records of an entry at lower path l and
// upper path u: type, mode, owner, device, size and mtime of a file (as
// Docker's vfs differ does, without reading contents), xattrs, a symlink's
// target. A directory's times and xattrs are not compared: they change
// with what it holds.
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
