package layer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	digest "github.com/opencontainers/go-digest"
	"github.com/vbatts/tar-split/archive/tar"
	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/whiteout"
)

// treeCheck compares a diff dir with the tree its tar made. Nothing in the
// dir is opened but directories (O_DIRECTORY|O_NOFOLLOW): entries are
// looked at with fstatat, readlinkat and xattr calls that do not follow the
// last component, so a FIFO or device planted there is never opened.
type treeCheck struct {
	ctx      context.Context
	s        *Store
	parent   digest.Digest // the layer below, for implied dirs and copied files
	want     *expectedTree
	seen     map[string]bool
	problems []string
}

func (c *treeCheck) addf(name, format string, args ...any) {
	c.problems = append(c.problems, "/"+name+": "+fmt.Sprintf(format, args...))
}

func (c *treeCheck) run(dir string) error {
	root, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	c.seen = map[string]bool{}
	var st unix.Stat_t
	if err := unix.Fstat(root, &st); err != nil {
		unix.Close(root)
		return fmt.Errorf("stat %s: %w", dir, err)
	}
	c.entry(root, ".", "", &st, root)
	if err := c.walk(root, ""); err != nil {
		return err
	}
	var missing []string
	for name := range c.want.paths {
		if !c.seen[name] {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	for _, name := range missing {
		c.addf(name, "missing")
	}
	return nil
}

// walk checks the entries of the open directory dir (the path rel), and
// closes it.
func (c *treeCheck) walk(dir int, rel string) error {
	f := os.NewFile(uintptr(dir), rel)
	defer f.Close()
	if err := c.ctx.Err(); err != nil {
		return err
	}
	names, err := f.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("read directory /%s: %w", rel, err)
	}
	sort.Strings(names)
	for _, base := range names {
		name := joinName(rel, base)
		var st unix.Stat_t
		if err := unix.Fstatat(dir, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("stat /%s: %w", name, err)
		}
		sub := -1
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			if sub, err = unix.Openat(dir, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0); err != nil {
				return fmt.Errorf("open /%s: %w", name, err)
			}
		}
		c.entry(dir, base, name, &st, sub)
		if sub >= 0 {
			if err := c.walk(sub, name); err != nil {
				return err
			}
		}
	}
	return nil
}

// entry checks one path; self is an open handle on it when it is a directory.
func (c *treeCheck) entry(dir int, base, name string, st *unix.Stat_t, self int) {
	want := c.want.paths[name]
	if want == nil {
		c.addf(name, "not in the layer (a %s)", typeName(st.Mode))
		return
	}
	c.seen[name] = true
	if want.first != "" {
		// Another name of the same inode: checked already.
		if want.ino != st.Ino {
			c.addf(name, "not a hardlink of /%s any more", want.first)
		}
		return
	}
	want.first, want.ino = name, st.Ino
	switch want.kind {
	case whiteoutNode:
		if !c.s.conv.IsWhiteout(st) {
			c.addf(name, "a %s, want a whiteout", typeName(st.Mode))
		}
		return
	case impliedDir, copiedFile:
		c.lowerAttrs(name, want, st)
	case fromHeader:
		if !c.headerAttrs(dir, base, name, want.hdr, st) {
			return
		}
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		opaque, err := c.s.conv.IsOpaque(xattrPath(dir, base, self))
		if err != nil {
			c.addf(name, "%v", err)
		} else if opaque != want.opaque {
			c.addf(name, "opaque %v, want %v", opaque, want.opaque)
		}
	}
	if want.kind == fromHeader {
		c.xattrs(dir, base, name, self, want.xattrs)
	}
}

// headerAttrs compares type, mode, owner, size, link target and device
// numbers with the header; false when the type differs already.
func (c *treeCheck) headerAttrs(dir int, base, name string, hdr *tar.Header, st *unix.Stat_t) bool {
	wantType := headerType(hdr.Typeflag)
	if got := st.Mode & unix.S_IFMT; got != wantType {
		c.addf(name, "a %s, want a %s", typeName(got), typeName(wantType))
		return false
	}
	// A symlink's own mode means nothing on Linux.
	if perm := st.Mode & 0o7777; wantType != unix.S_IFLNK && perm != uint32(hdr.Mode&0o7777) {
		c.addf(name, "mode %04o, want %04o", perm, hdr.Mode&0o7777)
	}
	if int(st.Uid) != hdr.Uid || int(st.Gid) != hdr.Gid {
		c.addf(name, "owner %d:%d, want %d:%d", st.Uid, st.Gid, hdr.Uid, hdr.Gid)
	}
	switch wantType {
	case unix.S_IFREG:
		if st.Size != hdr.Size {
			c.addf(name, "size %d, want %d", st.Size, hdr.Size)
		}
	case unix.S_IFLNK:
		buf := make([]byte, unix.PathMax)
		n, err := unix.Readlinkat(dir, base, buf)
		if err != nil {
			c.addf(name, "read link: %v", err)
		} else if target := string(buf[:n]); target != hdr.Linkname {
			c.addf(name, "link target %s, want %s", target, hdr.Linkname)
		}
	case unix.S_IFCHR, unix.S_IFBLK:
		major, minor := unix.Major(st.Rdev), unix.Minor(st.Rdev)
		if int64(major) != hdr.Devmajor || int64(minor) != hdr.Devminor {
			c.addf(name, "device %d:%d, want %d:%d", major, minor, hdr.Devmajor, hdr.Devminor)
		}
	}
	return true
}

// lowerAttrs checks a directory the tar implied, or a file copied in for a
// hardlink, against the same path in the layers below, whose attributes
// Apply gave it.
func (c *treeCheck) lowerAttrs(name string, want *expectation, st *unix.Stat_t) {
	kind, lowerName := want.kind, name
	wantType := uint32(unix.S_IFDIR)
	if kind == copiedFile {
		// Any of its hardlinks may come first; the lower file has one name.
		// Apply copies a regular file and makes a FIFO or device anew.
		wantType, lowerName = unix.S_IFREG, want.lower
	}
	var lower unix.Stat_t
	found := false
	if c.parent != "" && name != "" {
		if diff, err := c.s.findInChain(c.parent, lowerName); err == nil {
			found = unix.Lstat(filepath.Join(diff, lowerName), &lower) == nil
		}
	}
	if found && kind == copiedFile {
		switch t := lower.Mode & unix.S_IFMT; t {
		case unix.S_IFIFO, unix.S_IFCHR, unix.S_IFBLK:
			wantType = t
		}
	}
	if got := st.Mode & unix.S_IFMT; got != wantType {
		c.addf(name, "a %s, want a %s", typeName(got), typeName(wantType))
		return
	}
	if !found || lower.Mode&unix.S_IFMT != wantType {
		return // made by Apply itself, with nothing below to copy from
	}
	if st.Mode&0o7777 != lower.Mode&0o7777 {
		c.addf(name, "mode %04o, want %04o", st.Mode&0o7777, lower.Mode&0o7777)
	}
	if st.Uid != lower.Uid || st.Gid != lower.Gid {
		c.addf(name, "owner %d:%d, want %d:%d", st.Uid, st.Gid, lower.Uid, lower.Gid)
	}
	switch {
	case kind != copiedFile:
	case wantType == unix.S_IFREG && st.Size != lower.Size:
		c.addf(name, "size %d, want %d", st.Size, lower.Size)
	case (wantType == unix.S_IFCHR || wantType == unix.S_IFBLK) && st.Rdev != lower.Rdev:
		c.addf(name, "device %d:%d, want %d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev),
			unix.Major(lower.Rdev), unix.Minor(lower.Rdev))
	}
}

// xattrs compares the entry's extended attributes, except the driver's own
// and the host's security label, with those its tar entries set.
func (c *treeCheck) xattrs(dir int, base, name string, self int, want map[string]string) {
	path := xattrPath(dir, base, self)
	names, err := whiteout.ListXattrs(path)
	if err != nil {
		c.addf(name, "list xattrs: %v", err)
		return
	}
	got := map[string]bool{}
	for _, attr := range names {
		if c.s.conv.IsNativeXattr(attr) || attr == "security.selinux" {
			continue
		}
		got[attr] = true
		value, err := whiteout.GetXattr(path, attr)
		switch wantValue, ok := want[attr]; {
		case err != nil:
			c.addf(name, "read xattr %s: %v", attr, err)
		case !ok:
			c.addf(name, "xattr %s added", attr)
		case string(value) != wantValue:
			c.addf(name, "xattr %s changed", attr)
		}
	}
	var gone []string
	for attr := range want {
		if !got[attr] {
			gone = append(gone, attr)
		}
	}
	slices.Sort(gone)
	for _, attr := range gone {
		c.addf(name, "xattr %s missing", attr)
	}
}

// xattrPath names an entry for the l*xattr calls without following it: its
// directory through /proc/self/fd (a magic link to that very directory) and
// its own name, or the open directory itself.
func xattrPath(dir int, base string, self int) string {
	if self >= 0 {
		return fmt.Sprintf("/proc/self/fd/%d/.", self)
	}
	return fmt.Sprintf("/proc/self/fd/%d/%s", dir, base)
}

func headerType(flag byte) uint32 {
	switch flag {
	case tar.TypeDir:
		return unix.S_IFDIR
	case tar.TypeSymlink:
		return unix.S_IFLNK
	case tar.TypeChar:
		return unix.S_IFCHR
	case tar.TypeBlock:
		return unix.S_IFBLK
	case tar.TypeFifo:
		return unix.S_IFIFO
	}
	return unix.S_IFREG
}

func typeName(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return "regular file"
	case unix.S_IFDIR:
		return "directory"
	case unix.S_IFLNK:
		return "symlink"
	case unix.S_IFCHR:
		return "char device"
	case unix.S_IFBLK:
		return "block device"
	case unix.S_IFIFO:
		return "fifo"
	case unix.S_IFSOCK:
		return "socket"
	}
	return "file of unknown type"
}

// summary joins the first few problems and counts the rest.
func summary(problems []string) error {
	const shown = 3
	msg := strings.Join(problems[:min(len(problems), shown)], "; ")
	if len(problems) > shown {
		msg += fmt.Sprintf("; and %d more", len(problems)-shown)
	}
	return errors.New(msg)
}
