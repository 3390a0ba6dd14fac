package layer

import (
	"errors"
	"fmt"
	"io"

	"github.com/vbatts/tar-split/archive/tar"

	"golang.org/x/sys/unix"
)

// create makes the entry name (base in the open directory parent) as its
// header says; whatever was there is gone already.
func (a *applier) create(parent int, name, base string, hdr *tar.Header, payload io.Reader) error {
	switch hdr.Typeflag {
	case tar.TypeDir:
		return a.mkdir(parent, name, base, hdr)
	case tar.TypeReg, tar.TypeRegA, tar.TypeGNUSparse:
		return a.regular(parent, name, base, hdr, payload)
	case tar.TypeSymlink:
		if err := unix.Symlinkat(hdr.Linkname, parent, base); err != nil {
			return err
		}
		a.entries[name] = kindOther
		a.made(name, false)
		if !a.ownedAsCreated(parent, hdr) {
			if err := unix.Fchownat(parent, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
				return err
			}
		}
		return unix.UtimesNanoAt(parent, base, times(hdr), unix.AT_SYMLINK_NOFOLLOW)
	case tar.TypeLink:
		return a.hardlink(parent, name, base, hdr.Linkname)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return a.node(parent, name, base, hdr)
	}
	return fmt.Errorf("unsupported tar entry type %q", hdr.Typeflag)
}

func (a *applier) mkdir(parent int, name, base string, hdr *tar.Header) error {
	if err := unix.Mkdirat(parent, base, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
		return err
	}
	fd, err := unix.Openat(parent, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	a.entries[name] = kindDir
	a.madeBy[name] = append(a.madeBy[name], a.index)
	return a.attrs(fd, name, hdr, true, false)
}

func (a *applier) regular(parent int, name, base string, hdr *tar.Header, payload io.Reader) error {
	asCreated := a.asCreated(parent, hdr)
	mode := uint32(0o600)
	if asCreated {
		mode = uint32(hdr.Mode & 0o777)
	}
	fd, err := unix.Openat(parent, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	n, err := writeContent(fd, payload, a.buf)
	if err != nil {
		return err
	}
	a.size += n
	a.entries[name] = kindOther
	a.made(name, n > 0)
	if err := a.attrs(fd, name, hdr, false, asCreated); err != nil {
		return err
	}
	return unix.UtimesNanoAt(parent, base, times(hdr), unix.AT_SYMLINK_NOFOLLOW)
}

// node makes a device or a FIFO with mknod: nothing is opened.
func (a *applier) node(parent int, name, base string, hdr *tar.Header) error {
	mode := uint32(hdr.Mode & 0o7777)
	switch hdr.Typeflag {
	case tar.TypeChar:
		mode |= unix.S_IFCHR
	case tar.TypeBlock:
		mode |= unix.S_IFBLK
	default:
		mode |= unix.S_IFIFO
	}
	dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
	if err := unix.Mknodat(parent, base, mode, int(dev)); err != nil {
		return err
	}
	a.entries[name] = kindOther
	a.made(name, false)
	if err := unix.Fchownat(parent, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	// The node was just made here, so chmod cannot reach through a symlink.
	if err := unix.Fchmodat(parent, base, uint32(hdr.Mode&0o7777), 0); err != nil {
		return err
	}
	return unix.UtimesNanoAt(parent, base, times(hdr), unix.AT_SYMLINK_NOFOLLOW)
}
