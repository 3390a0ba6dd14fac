package layer

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/whiteout"
)

// DiffOptions configure WriteDiff.
type DiffOptions struct {
	// Converter reads the directory's whiteouts in their native form. Required.
	Converter whiteout.Converter
	// Exclude leaves out a path (relative, no leading slash) and, for a
	// directory, everything under it.
	Exclude func(rel string) bool
	// Clamp, when not zero, caps every mtime (SOURCE_DATE_EPOCH), so the
	// same changes give the same diffID whenever they were made.
	Clamp time.Time
}

// WriteDiff writes the diff directory dir as a layer tar to w: its changes
// (WalkChanges with no lower layers) in walk order (a directory before its
// children, names sorted), PAX format, native whiteouts turned into ".wh."
// entries and opaque directories into a ".wh..wh..opq" entry after the
// directory, hardlinks written as tar links, the driver's own xattrs and
// aufs's bookkeeping files left out. The same tree gives the same bytes.
func WriteDiff(ctx context.Context, w io.Writer, dir string, opts DiffOptions) error {
	if opts.Converter == nil {
		return fmt.Errorf("write diff: no whiteout converter")
	}
	d := newDiffer(w, opts)
	err := WalkChanges(ctx, dir, WalkOptions{Converter: opts.Converter, Exclude: opts.Exclude}, d.change)
	if err != nil {
		return fmt.Errorf("write diff of %s: %w", dir, err)
	}
	return d.tw.Close()
}

// WriteChanges writes a list of changes (as WalkChanges yields them, in its
// order, or a list built from it) as a layer tar: an entry for each Added
// or Modified one, read from its Source, and a ".wh." entry for each
// deletion that no opaque directory written before already implies.
func WriteChanges(ctx context.Context, w io.Writer, changes []Change, opts DiffOptions) error {
	if opts.Converter == nil {
		return fmt.Errorf("write changes: no whiteout converter")
	}
	d := newDiffer(w, opts)
	for _, c := range changes {
		if err := ctx.Err(); err != nil {
			return err
		}
		if opts.Exclude != nil && opts.Exclude(c.Path) {
			continue
		}
		if err := d.change(c); err != nil {
			return fmt.Errorf("write changes: %w", err)
		}
	}
	return d.tw.Close()
}

type inodeKey struct{ dev, ino uint64 }

type differ struct {
	tw     *tar.Writer
	opts   DiffOptions
	links  map[inodeKey]string // first name written for a hardlinked inode
	opaque map[string]bool     // directories written with an opaque marker
	buf    []byte
}

func newDiffer(w io.Writer, opts DiffOptions) *differ {
	return &differ{tw: tar.NewWriter(w), opts: opts, links: map[inodeKey]string{}, opaque: map[string]bool{}, buf: make([]byte, 256<<10)}
}

// change writes the tar entries of one change.
func (d *differ) change(c Change) error {
	if c.Kind == Deleted {
		parent, base := splitName(c.Path)
		if !c.Whiteout && d.opaque[parent] {
			return nil // the marker already hides it
		}
		return d.tw.WriteHeader(&tar.Header{
			Typeflag: tar.TypeReg, Name: joinName(parent, whiteout.TarName(base)),
			ModTime: d.clamp(time.Unix(c.Stat.Mtim.Unix())), Format: tar.FormatPAX,
		})
	}
	h, err := d.header(c)
	if err != nil || h == nil {
		return err
	}
	if err := d.tw.WriteHeader(h); err != nil {
		return err
	}
	if h.Typeflag == tar.TypeReg && h.Size > 0 {
		if err := d.body(c.Source, h); err != nil {
			return err
		}
	}
	if h.Typeflag == tar.TypeDir && c.Opaque {
		d.opaque[c.Path] = true
		return d.tw.WriteHeader(&tar.Header{
			Typeflag: tar.TypeReg, Name: joinName(c.Path, whiteout.OpaqueMarker),
			ModTime: h.ModTime, Format: tar.FormatPAX,
		})
	}
	return nil
}

// header is the tar header of an entry; nil for a socket, which has no tar
// form.
func (d *differ) header(c Change) (*tar.Header, error) {
	st := &c.Stat
	h := &tar.Header{
		Name: c.Path, Mode: int64(st.Mode & 0o7777), Uid: int(st.Uid), Gid: int(st.Gid),
		ModTime: d.clamp(time.Unix(st.Mtim.Unix())), Format: tar.FormatPAX,
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		h.Typeflag, h.Name = tar.TypeDir, c.Path+"/"
	case unix.S_IFLNK:
		target, err := os.Readlink(c.Source)
		if err != nil {
			return nil, err
		}
		h.Typeflag, h.Linkname = tar.TypeSymlink, target
	case unix.S_IFREG:
		h.Typeflag, h.Size = tar.TypeReg, st.Size
		key := inodeKey{st.Dev, st.Ino}
		if first, ok := d.links[key]; ok {
			h.Typeflag, h.Linkname, h.Size = tar.TypeLink, first, 0
		} else if st.Nlink > 1 {
			d.links[key] = c.Path
		}
	case unix.S_IFCHR, unix.S_IFBLK:
		h.Typeflag = tar.TypeChar
		if st.Mode&unix.S_IFMT == unix.S_IFBLK {
			h.Typeflag = tar.TypeBlock
		}
		h.Devmajor, h.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	case unix.S_IFIFO:
		h.Typeflag = tar.TypeFifo
	default:
		return nil, nil
	}
	return h, d.xattrs(c.Source, h)
}

// body copies a regular file's content after its header. The size was
// written first: a file that changes size while it is read must fail, not
// produce a bad tar.
func (d *differ) body(path string, h *tar.Header) error {
	// A bare descriptor: an *os.File costs a poller registration and
	// more fcntls, for each file of a layer.
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	n, err := io.CopyBuffer(d.tw, io.LimitReader(fdReader(fd), h.Size), d.buf)
	if err != nil {
		return err
	}
	if n != h.Size {
		return fmt.Errorf("%s shrank while it was read", h.Name)
	}
	return nil
}

func (d *differ) clamp(t time.Time) time.Time {
	if !d.opts.Clamp.IsZero() && t.After(d.opts.Clamp) {
		return d.opts.Clamp
	}
	return t
}

// xattrs adds the entry's extended attributes as SCHILY.xattr PAX records,
// except the driver's own.
func (d *differ) xattrs(path string, h *tar.Header) error {
	names, err := whiteout.ListXattrs(path)
	if err != nil {
		return err
	}
	for _, name := range names {
		if d.opts.Converter.IsNativeXattr(name) {
			continue
		}
		val, err := whiteout.GetXattr(path, name)
		if err != nil {
			return err
		}
		if h.PAXRecords == nil {
			h.PAXRecords = map[string]string{}
		}
		h.PAXRecords["SCHILY.xattr."+name] = string(val)
	}
	return nil
}

// fdReader reads a file descriptor.
type fdReader int

func (r fdReader) Read(p []byte) (int, error) {
	for {
		n, err := unix.Read(int(r), p)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return 0, err
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}
