package build

import (
	"errors"
	"fmt"
	"io/fs"
	"sort"

	"golang.org/x/sys/unix"
)

// statEntry is an entry of a COPY source and what its lstat says.
type statEntry struct {
	path string
	mode fs.FileMode
	key  statKey
}

// statTree lists the directory item (whose stat is top) and everything
// under it that .dockerignore keeps, in path order. Each directory is read
// with getdents and its names are lstat'ed at its fd: a cached rebuild
// does little else, and fs.WalkDir's DirEntry and FileInfo for each file
// were a third of its CPU. item is opened through the context's root; a
// subdirectory is opened by its one name, O_NOFOLLOW, so no symlink is
// followed out of the context.
func (s source) statTree(item string, top fs.FileInfo) ([]statEntry, error) {
	key, _ := keyOf(top)
	out := []statEntry{{path: item, mode: top.Mode(), key: key}}
	f, err := s.root.Open(item)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := s.statDir(int(f.Fd()), item, make([]byte, 32<<10), &out); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, nil
}

// statDir appends the entries under the directory dir, open at fd.
func (s source) statDir(fd int, dir string, buf []byte, out *[]statEntry) error {
	names, err := readNames(fd, buf)
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	var subdirs []string
	for _, name := range names {
		p := name
		if dir != "." {
			p = dir + "/" + name
		}
		if s.excluded(p) {
			continue
		}
		var st unix.Stat_t
		if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		e := statEntry{path: p, mode: fileMode(st.Mode), key: statKey{
			size: st.Size, mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano(),
			ino: st.Ino, dev: st.Dev, mode: st.Mode, uid: st.Uid, gid: st.Gid,
		}}
		*out = append(*out, e)
		if e.mode.IsDir() {
			subdirs = append(subdirs, name)
		}
	}
	for _, name := range subdirs {
		sub, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("%s/%s: %w", dir, name, err)
		}
		p := name
		if dir != "." {
			p = dir + "/" + name
		}
		err = s.statDir(sub, p, buf, out)
		unix.Close(sub)
		if err != nil {
			return err
		}
	}
	return nil
}

// readNames lists the names in the directory open at fd, less "." and "..".
func readNames(fd int, buf []byte) ([]string, error) {
	var names []string
	for {
		n, err := unix.Getdents(fd, buf)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return names, nil
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
}

// fileMode is a stat mode as fs.FileMode, as package os makes it.
func fileMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	switch m & unix.S_IFMT {
	case unix.S_IFBLK:
		mode |= fs.ModeDevice
	case unix.S_IFCHR:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFDIR:
		mode |= fs.ModeDir
	case unix.S_IFIFO:
		mode |= fs.ModeNamedPipe
	case unix.S_IFLNK:
		mode |= fs.ModeSymlink
	case unix.S_IFSOCK:
		mode |= fs.ModeSocket
	}
	if m&unix.S_ISGID != 0 {
		mode |= fs.ModeSetgid
	}
	if m&unix.S_ISUID != 0 {
		mode |= fs.ModeSetuid
	}
	if m&unix.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}
