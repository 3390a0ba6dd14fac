package container

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/layer"
)

// cp's two halves, one tar stream between them, whichever way it goes: the
// archiver walks a tree below a root fd, the extractor writes one below a
// root fd. Every path is resolved with openat2 RESOLVE_IN_ROOT against the
// root (the container's rootfs, or the host's /), so a symlink of the
// container, even one swapped in while cp runs, never leads outside it;
// below the start, entries are opened one name at a time, never following
// a symlink. Only a regular file, checked as such on an O_PATH fd, is
// opened for reading.

const pathFlags = unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC

// openInRoot opens name (absolute or not) inside root, symlinks resolved
// as if root were /; the last component is not followed unless follow.
func openInRoot(root int, name string, follow bool) (int, error) {
	flags := uint64(pathFlags)
	if follow {
		flags &^= unix.O_NOFOLLOW
	}
	return layer.Openat2(root, "./"+strings.TrimLeft(name, "/"), &unix.OpenHow{
		Flags: flags, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
}

func fdStat(fd int) (unix.Stat_t, error) {
	var st unix.Stat_t
	err := unix.Fstatat(fd, "", &st, unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW)
	return st, err
}

func procPath(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }

// archive writes the tree at fd (an O_PATH fd) to tw, its top entry named
// name ("." for its contents only).
func archive(tw *tar.Writer, fd int, name string) error {
	st, err := fdStat(fd)
	if err != nil {
		return err
	}
	hdr := &tar.Header{
		Name: name, Mode: int64(st.Mode & 0o7777), Uid: int(st.Uid), Gid: int(st.Gid),
		ModTime: time.Unix(st.Mtim.Unix()), Format: tar.FormatPAX,
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		return archiveFile(tw, fd, hdr, st.Size)
	case unix.S_IFDIR:
		hdr.Typeflag, hdr.Name = tar.TypeDir, name+"/"
		if name != "." {
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
		}
		return archiveDir(tw, fd, name)
	case unix.S_IFLNK:
		buf := make([]byte, unix.PathMax)
		n, err := unix.Readlinkat(fd, "", buf)
		if err != nil {
			return err
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, string(buf[:n])
	case unix.S_IFIFO:
		hdr.Typeflag = tar.TypeFifo
	case unix.S_IFCHR, unix.S_IFBLK:
		hdr.Typeflag = tar.TypeChar
		if st.Mode&unix.S_IFMT == unix.S_IFBLK {
			hdr.Typeflag = tar.TypeBlock
		}
		hdr.Devmajor, hdr.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	default:
		return nil // a socket: nothing a tar holds
	}
	return tw.WriteHeader(hdr)
}

func archiveFile(tw *tar.Writer, fd int, hdr *tar.Header, size int64) error {
	f, err := os.OpenFile(procPath(fd), os.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	hdr.Typeflag, hdr.Size = tar.TypeReg, size
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	// A file that shrinks meanwhile fails the copy rather than the stream.
	if _, err := io.CopyN(tw, f, size); err != nil {
		return fmt.Errorf("read %s: %w", hdr.Name, err)
	}
	return nil
}

func archiveDir(tw *tar.Writer, fd int, name string) error {
	dir, err := os.OpenFile(procPath(fd), os.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return err
	}
	names, err := dir.Readdirnames(-1)
	dir.Close()
	if err != nil {
		return err
	}
	for _, n := range names {
		child, err := unix.Openat(fd, n, pathFlags, 0)
		if errors.Is(err, unix.ENOENT) {
			continue // gone meanwhile
		}
		if err != nil {
			return err
		}
		err = archive(tw, child, path.Join(name, n))
		unix.Close(child)
		if err != nil {
			return err
		}
	}
	return nil
}

// extractOptions say what an extraction may make.
type extractOptions struct {
	// host: the tree lands on the host: no device nodes, no setuid or
	// setgid bits (a container's files must not become the host's
	// privileges).
	host bool
	// keepOwner: entries get the owners the stream gives (cp -a).
	keepOwner bool
}

// extract writes the entries of tr below dir inside root (dir resolved in
// root; every entry's parent too, so a symlink in the tree being written
// stays inside root).
func extract(tr *tar.Reader, root int, dir string, o extractOptions) error {
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := path.Clean(strings.TrimLeft(hdr.Name, "/"))
		if name == ".." || strings.HasPrefix(name, "../") {
			return fmt.Errorf("tar entry %q: outside the destination", hdr.Name)
		}
		parent, err := openInRoot(root, path.Join(dir, path.Dir(name)), true)
		if err != nil {
			return fmt.Errorf("%s: %w", hdr.Name, err)
		}
		err = extractEntry(tr, hdr, root, dir, parent, path.Base(name), o)
		unix.Close(parent)
		if err != nil {
			return fmt.Errorf("%s: %w", hdr.Name, err)
		}
	}
}

func extractEntry(tr *tar.Reader, hdr *tar.Header, root int, dir string, parent int, base string, o extractOptions) error {
	mode := uint32(hdr.Mode & 0o7777)
	if o.host {
		mode &^= unix.S_ISUID | unix.S_ISGID
	}
	if base == "." || base == "/" {
		return nil // the destination itself: it is there
	}
	var st unix.Stat_t
	exists := unix.Fstatat(parent, base, &st, unix.AT_SYMLINK_NOFOLLOW) == nil
	isDir := exists && st.Mode&unix.S_IFMT == unix.S_IFDIR
	if hdr.Typeflag == tar.TypeDir && isDir {
		if err := o.chown(parent, base, hdr); err != nil {
			return err
		}
		return unix.Fchmodat(parent, base, mode, 0)
	}
	if exists {
		flag := 0
		if isDir {
			flag = unix.AT_REMOVEDIR // only an empty one: as Docker, no tree is replaced
		}
		if err := unix.Unlinkat(parent, base, flag); err != nil {
			return err
		}
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := unix.Mkdirat(parent, base, 0o700); err != nil {
			return err
		}
		if err := o.chown(parent, base, hdr); err != nil {
			return err
		}
		return unix.Fchmodat(parent, base, mode, 0)
	case tar.TypeReg, tar.TypeRegA:
		fd, err := unix.Openat(parent, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return err
		}
		f := os.NewFile(uintptr(fd), base)
		_, err = io.Copy(f, tr)
		if err == nil {
			err = o.chown(parent, base, hdr) // before the chmod: chown clears setuid
		}
		if err == nil {
			err = f.Chmod(os.FileMode(mode&0o777) | unixModeBits(mode))
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	case tar.TypeSymlink:
		if err := unix.Symlinkat(hdr.Linkname, parent, base); err != nil {
			return err
		}
		return o.chown(parent, base, hdr)
	case tar.TypeLink:
		target, err := openInRoot(root, path.Join(dir, hdr.Linkname), false)
		if err != nil {
			return err
		}
		defer unix.Close(target)
		return unix.Linkat(target, "", parent, base, unix.AT_EMPTY_PATH)
	case tar.TypeFifo:
		if err := unix.Mknodat(parent, base, unix.S_IFIFO|mode, 0); err != nil {
			return err
		}
		return o.chown(parent, base, hdr)
	case tar.TypeChar, tar.TypeBlock:
		if o.host {
			return nil // no device of a container's on the host
		}
		typ := uint32(unix.S_IFCHR)
		if hdr.Typeflag == tar.TypeBlock {
			typ = unix.S_IFBLK
		}
		if err := unix.Mknodat(parent, base, typ|mode, int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor)))); err != nil {
			return err
		}
		return o.chown(parent, base, hdr)
	default:
		return nil
	}
	ts := []unix.Timespec{unix.NsecToTimespec(hdr.ModTime.UnixNano()), unix.NsecToTimespec(hdr.ModTime.UnixNano())}
	return unix.UtimesNanoAt(parent, base, ts, unix.AT_SYMLINK_NOFOLLOW)
}

// chown gives the entry base in parent the stream's owners, with cp -a.
func (o extractOptions) chown(parent int, base string, hdr *tar.Header) error {
	if !o.keepOwner {
		return nil
	}
	return unix.Fchownat(parent, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW)
}

// unixModeBits turns setuid, setgid and sticky bits into os.FileMode's.
func unixModeBits(mode uint32) os.FileMode {
	var m os.FileMode
	if mode&unix.S_ISUID != 0 {
		m |= os.ModeSetuid
	}
	if mode&unix.S_ISGID != 0 {
		m |= os.ModeSetgid
	}
	if mode&unix.S_ISVTX != 0 {
		m |= os.ModeSticky
	}
	return m
}
