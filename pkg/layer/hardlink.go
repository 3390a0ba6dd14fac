package layer

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

func (a *applier) hardlink(parent int, name, base, linkname string) error {
	target, err := cleanName(linkname)
	if err != nil {
		return err
	}
	if target == "" {
		return fmt.Errorf("%w: hardlink to the layer root", ErrUnsafeEntry)
	}
	switch a.entries[target] {
	case kindDir:
		return fmt.Errorf("%w: hardlink to directory %q", ErrUnsafeEntry, target)
	case 0:
		if err := a.copyFromLower(target); err != nil {
			return err
		}
		// The copy moved the cached parent handle to the target's directory.
		if parent, err = a.parent(parentOf(name)); err != nil {
			return err
		}
	}
	tparentName, tbase := splitName(target)
	tparent, err := openBeneath(a.root, tparentName)
	if err != nil {
		return fmt.Errorf("%w: hardlink target %q: %v", ErrUnsafeEntry, target, err)
	}
	defer unix.Close(tparent)
	if err := unix.Linkat(tparent, tbase, parent, base, 0); err != nil {
		return err
	}
	a.entries[name] = kindOther
	a.made(name, false)
	return nil
}

// copyFromLower brings a hardlink's target from a lower layer into this one,
// so that the link stays inside the layer (OCI layer.md allows hardlinks to
// files of lower layers). A FIFO or a device is made anew, never opened.
func (a *applier) copyFromLower(target string) error {
	if a.opts.Lower == nil {
		return fmt.Errorf("%w: hardlink to %q, which is not in this layer", ErrUnsafeEntry, target)
	}
	src, err := a.opts.Lower(a.ctx, target)
	if err != nil {
		return fmt.Errorf("%w: hardlink to %q, which is not in this layer nor below: %v", ErrUnsafeEntry, target, err)
	}
	defer src.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(src.Fd()), &st); err != nil {
		return err
	}
	tparentName, tbase := splitName(target)
	tparent, err := a.parent(tparentName)
	if err != nil {
		return err
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		err = a.copyLowerFile(src, tparent, target, &st)
	case unix.S_IFIFO, unix.S_IFCHR, unix.S_IFBLK:
		err = a.copyLowerNode(src, tparent, target, &st)
	default:
		return fmt.Errorf("%w: hardlink to %q, which is not a file", ErrUnsafeEntry, target)
	}
	if err != nil {
		return err
	}
	ts := []unix.Timespec{st.Atim, st.Mtim}
	if err := unix.UtimesNanoAt(tparent, tbase, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	a.entries[target] = kindOther
	a.copied = append(a.copied, target)
	a.copiedLive[target] = true
	return nil
}

// copyLowerFile copies a lower regular file's content, owner, mode and
// xattrs to target.
func (a *applier) copyLowerFile(src *os.File, tparent int, target string, st *unix.Stat_t) error {
	in, err := reopenRegular(int(src.Fd()), target)
	if err != nil {
		return fmt.Errorf("%w: hardlink to %q: %v", ErrUnsafeEntry, target, err)
	}
	defer in.Close()
	_, tbase := splitName(target)
	fd, err := unix.Openat(tparent, tbase, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if _, err := writeContent(fd, in, a.buf); err != nil {
		return err
	}
	if err := unix.Fchown(fd, int(st.Uid), int(st.Gid)); err != nil {
		return err
	}
	if err := unix.Fchmod(fd, st.Mode&0o7777); err != nil {
		return err
	}
	return copyFdXattrs(int(in.Fd()), fd, a.opts.Converter)
}

// copyLowerNode makes target a FIFO or device like the lower one, as
// Docker does, through O_PATH handles only.
func (a *applier) copyLowerNode(src *os.File, tparent int, target string, st *unix.Stat_t) error {
	_, tbase := splitName(target)
	if err := unix.Mknodat(tparent, tbase, st.Mode&(unix.S_IFMT|0o7777), int(st.Rdev)); err != nil {
		return err
	}
	if err := unix.Fchownat(tparent, tbase, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	// The node was just made here, so chmod cannot reach through a symlink.
	if err := unix.Fchmodat(tparent, tbase, st.Mode&0o7777, 0); err != nil {
		return err
	}
	node, err := unix.Openat(tparent, tbase, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(node)
	return copyPathXattrs(int(src.Fd()), node, a.opts.Converter)
}
