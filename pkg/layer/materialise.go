package layer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/whiteout"
)

// MaterialiseOptions tune Materialise.
type MaterialiseOptions struct {
	// Link hardlinks regular files to the layers' own inodes instead of
	// copying them. Only for a result nothing will write to (a flattened
	// lower layer): the files are shared with the layers.
	Link bool
}

// Materialise writes the merged view of layers (top first, each a diff dir
// whose whiteouts are in conv's form) into dst, an existing directory. It is
// what a union mount would show (the vfs driver's copy of an image), made by
// applying each layer's changes (WalkChanges) bottom up. The attributes of
// dst itself are left to the caller. dst is private to the caller while
// this runs: it is never traversed through a symlink, since every entry
// that changes type is removed before it is made again.
func Materialise(ctx context.Context, dst string, layers []string, conv whiteout.Converter, opt MaterialiseOptions) error {
	m := &materialiser{dst: filepath.Clean(dst), conv: conv, link: opt.Link, dirTimes: map[string]unix.Timespec{}}
	for i := len(layers) - 1; i >= 0; i-- {
		m.links = map[inodeKey]string{}
		if err := WalkChanges(ctx, layers[i], WalkOptions{Converter: conv}, m.change); err != nil {
			return fmt.Errorf("materialise %s: %w", layers[i], err)
		}
	}
	return m.restoreDirTimes(m.dst)
}

type materialiser struct {
	dst  string
	conv whiteout.Converter
	link bool
	// links maps a source inode of the current layer to its first copy, so
	// hardlinks inside a layer stay hardlinks.
	links map[inodeKey]string
	// dirTimes are set last: creating children changes a directory's mtime.
	dirTimes map[string]unix.Timespec
}

// change applies one change of a layer onto dst.
func (m *materialiser) change(c Change) error {
	to := filepath.Join(m.dst, c.Path)
	if c.Kind == Deleted {
		return os.RemoveAll(to)
	}
	st := &c.Stat
	var old unix.Stat_t
	exists := unix.Lstat(to, &old) == nil
	isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
	if exists && !(isDir && old.Mode&unix.S_IFMT == unix.S_IFDIR) {
		if err := os.RemoveAll(to); err != nil {
			return err
		}
		exists = false
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return m.dir(c, to, exists)
	case unix.S_IFREG:
		return m.file(c.Source, to, st)
	case unix.S_IFLNK:
		target, err := os.Readlink(c.Source)
		if err != nil {
			return err
		}
		if err := unix.Symlink(target, to); err != nil {
			return err
		}
		if err := unix.Lchown(to, int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
		return unix.UtimesNanoAt(unix.AT_FDCWD, to, []unix.Timespec{st.Atim, st.Mtim}, unix.AT_SYMLINK_NOFOLLOW)
	default: // devices, fifos, sockets
		if err := unix.Mknod(to, st.Mode, int(st.Rdev)); err != nil {
			return err
		}
		return m.attrs(c.Source, to, st)
	}
}

// dir makes or updates a directory: the upper one's attributes win and the
// children merge, unless it is opaque (then the lower children go).
func (m *materialiser) dir(c Change, to string, exists bool) error {
	if !exists {
		if err := unix.Mkdir(to, 0o700); err != nil {
			return err
		}
	} else if c.Opaque {
		if err := clearDir(to); err != nil {
			return err
		}
	}
	if err := m.attrs(c.Source, to, &c.Stat); err != nil {
		return err
	}
	m.dirTimes[c.Path] = c.Stat.Mtim
	return nil
}

// file copies (or, with link, hardlinks) a regular file.
func (m *materialiser) file(from, to string, st *unix.Stat_t) error {
	key := inodeKey{st.Dev, st.Ino}
	if first, ok := m.links[key]; ok && st.Nlink > 1 {
		return unix.Link(first, to)
	}
	if m.link {
		err := unix.Link(from, to)
		if err == nil {
			return nil // shares the inode, attributes and all
		}
		if !errors.Is(err, unix.EXDEV) && !errors.Is(err, unix.EMLINK) {
			return err
		}
	}
	if err := copyData(from, to); err != nil {
		return err
	}
	if st.Nlink > 1 {
		m.links[key] = to
	}
	return m.attrs(from, to, st)
}

func copyData(from, to string) error {
	in, err := os.OpenFile(from, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in) // copy_file_range: a reflink where the filesystem can
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// attrs copies owner, mode, xattrs (not the driver's own) and times. The
// mode is set after the owner: chown clears setuid and setgid.
func (m *materialiser) attrs(from, to string, st *unix.Stat_t) error {
	if err := unix.Lchown(to, int(st.Uid), int(st.Gid)); err != nil {
		return err
	}
	if err := unix.Fchmodat(unix.AT_FDCWD, to, st.Mode&0o7777, 0); err != nil {
		return err
	}
	if err := copyXattrs(from, to, m.conv); err != nil {
		return err
	}
	return unix.UtimesNanoAt(unix.AT_FDCWD, to, []unix.Timespec{st.Atim, st.Mtim}, unix.AT_SYMLINK_NOFOLLOW)
}

func copyXattrs(from, to string, conv whiteout.Converter) error {
	names, err := whiteout.ListXattrs(from)
	if err != nil {
		return err
	}
	for _, name := range names {
		if conv.IsNativeXattr(name) {
			continue
		}
		val, err := whiteout.GetXattr(from, name)
		if err != nil {
			return err
		}
		if err := unix.Lsetxattr(to, name, val, 0); err != nil {
			return fmt.Errorf("set xattr %s on %s: %w", name, to, err)
		}
	}
	return nil
}

func (m *materialiser) restoreDirTimes(dst string) error {
	paths := make([]string, 0, len(m.dirTimes))
	for p := range m.dirTimes {
		paths = append(paths, p)
	}
	// Deepest first, so setting a parent's time comes after its children.
	sort.Slice(paths, func(i, j int) bool {
		return strings.Count(paths[i], "/") > strings.Count(paths[j], "/")
	})
	for _, p := range paths {
		t := m.dirTimes[p]
		var st unix.Stat_t
		if unix.Lstat(filepath.Join(dst, p), &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
			continue // removed or replaced by a higher layer
		}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, filepath.Join(dst, p), []unix.Timespec{t, t}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
	}
	return nil
}

func readNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	sort.Strings(names)
	return names, err
}

// clearDir removes the children of dir, which the layers below put there.
func clearDir(dir string) error {
	names, err := readNames(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := os.RemoveAll(filepath.Join(dir, n)); err != nil {
			return err
		}
	}
	return nil
}
