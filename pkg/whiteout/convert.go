package whiteout

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Format names a native on-disk form of whiteouts. The string is what a
// store records.
type Format string

const (
	// FormatOverlay: char device 0/0 and trusted.overlay.opaque=y (as root).
	FormatOverlay Format = "overlay"
	// FormatOverlayUser: the same with user.overlay.* xattrs (userxattr mounts).
	FormatOverlayUser Format = "overlay-userxattr"
	// FormatFiles keeps ".wh." files as they are (aufs, vfs).
	FormatFiles Format = "files"
)

// Converter writes the tar form of whiteouts into a directory in one native
// form, and recognises that form again when a directory is read back.
type Converter interface {
	// Format is the form this converter writes.
	Format() Format
	// Passthrough reports whether whiteout entries are stored as the plain
	// files the tar carries (aufs, vfs): the applier then extracts them as
	// regular entries and calls neither Whiteout nor Opaque. It is for the
	// write side only (the applier, and verify's model of what the applier
	// stored): a reader of a diff dir asks ReadEntry and IsOpaque instead.
	Passthrough() bool
	// Whiteout records in the directory dirfd that name is deleted.
	Whiteout(dirfd int, name string) error
	// Opaque marks the open directory fd as opaque.
	Opaque(fd int) error
	// IsWhiteout reports whether an entry with this lstat is a native
	// whiteout (and so stands for the tar name TarName(name)).
	IsWhiteout(st *unix.Stat_t) bool
	// IsOpaque reports whether the directory at path (never followed if a
	// symlink) carries the native opaque mark.
	IsOpaque(path string) (bool, error)
	// IsNativeXattr reports whether an xattr name belongs to the driver and
	// must never reach a tar.
	IsNativeXattr(name string) bool
	// ReadEntry tells what a directory entry of a diff dir in this form
	// means: a whiteout of the returned name, an opaque marker (its
	// directory hides every lower child), driver bookkeeping (never a
	// change: skip it and what it holds) or a plain entry (Regular). Of st
	// it reads only the type bits and, for a device, Rdev: a caller that
	// knows the type from readdir needs to lstat only devices. A directory
	// in this form may also be opaque by its own mark: see IsOpaque.
	ReadEntry(name string, st *unix.Stat_t) (kind Kind, target string)
}

// ForFormat returns the converter for a recorded format.
func ForFormat(f Format) (Converter, error) {
	switch f {
	case FormatOverlay:
		return overlay{xattr: "trusted.overlay.opaque", prefix: "trusted.overlay."}, nil
	case FormatOverlayUser:
		return overlay{xattr: "user.overlay.opaque", prefix: "user.overlay."}, nil
	case FormatFiles:
		return files{}, nil
	}
	return nil, fmt.Errorf("unknown whiteout format %q", f)
}

type overlay struct {
	xattr  string // the opaque xattr's name
	prefix string // every xattr overlayfs owns
}

var _ Converter = overlay{}

func (o overlay) Format() Format {
	if o.prefix == "user.overlay." {
		return FormatOverlayUser
	}
	return FormatOverlay
}

func (overlay) Passthrough() bool { return false }

func (overlay) Whiteout(dirfd int, name string) error {
	// overlayfs.rst: "A whiteout is created as a character device with 0/0
	// device number".
	if err := unix.Mknodat(dirfd, name, unix.S_IFCHR, 0); err != nil {
		return fmt.Errorf("create whiteout %q: %w", name, err)
	}
	return nil
}

func (o overlay) Opaque(fd int) error {
	if err := unix.Fsetxattr(fd, o.xattr, []byte("y"), 0); err != nil {
		return fmt.Errorf("set %s: %w", o.xattr, err)
	}
	return nil
}

func (overlay) IsWhiteout(st *unix.Stat_t) bool {
	return st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0
}

// ReadEntry: only the 0/0 char device means something; a ".wh." name in an
// overlay dir is a file some process made, plain.
func (o overlay) ReadEntry(name string, st *unix.Stat_t) (Kind, string) {
	if o.IsWhiteout(st) {
		return Whiteout, name
	}
	return Regular, ""
}

func (o overlay) IsOpaque(path string) (bool, error) {
	var buf [4]byte
	n, err := unix.Lgetxattr(path, o.xattr, buf[:])
	if errors.Is(err, unix.ENODATA) || errors.Is(err, unix.ENOTSUP) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read %s of %s: %w", o.xattr, path, err)
	}
	return n == 1 && buf[0] == 'y', nil
}

func (o overlay) IsNativeXattr(name string) bool {
	return len(name) >= len(o.prefix) && name[:len(o.prefix)] == o.prefix
}

// files is the aufs/vfs form: whiteouts stay ".wh." files.
type files struct{}

var _ Converter = files{}

func (files) Format() Format                { return FormatFiles }
func (files) Passthrough() bool             { return true }
func (files) IsWhiteout(*unix.Stat_t) bool  { return false }
func (files) IsOpaque(string) (bool, error) { return false, nil }
func (files) IsNativeXattr(string) bool     { return false }

// ReadEntry: the names are the tar's; a 0/0 char device is a device.
func (files) ReadEntry(name string, _ *unix.Stat_t) (Kind, string) { return Classify(name) }
func (files) Whiteout(dirfd int, name string) error {
	fd, err := unix.Openat(dirfd, TarName(name), unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o444)
	if err != nil {
		return fmt.Errorf("create whiteout %q: %w", TarName(name), err)
	}
	return unix.Close(fd)
}
func (files) Opaque(fd int) error {
	m, err := unix.Openat(fd, OpaqueMarker, unix.O_CREAT|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o444)
	if err != nil {
		return fmt.Errorf("create %s: %w", OpaqueMarker, err)
	}
	return unix.Close(m)
}
