package layer

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
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

// WriteDiff writes the diff directory dir as a layer tar to w: entries in
// walk order (a directory before its children, names sorted), PAX format,
// native whiteouts turned into ".wh." entries and opaque directories into a
// ".wh..wh..opq" entry after the directory, hardlinks written as tar links,
// the driver's own xattrs and aufs's bookkeeping files left out. The same
// tree gives the same bytes.
func WriteDiff(w io.Writer, dir string, opts DiffOptions) error {
	if opts.Converter == nil {
		return fmt.Errorf("write diff: no whiteout converter")
	}
	// Names are cut from the walked paths by length: "dir/" or "dir/." would
	// cut them wrong.
	dir = filepath.Clean(dir)
	d := &differ{tw: tar.NewWriter(w), opts: opts, links: map[inodeKey]string{}, buf: make([]byte, 256<<10)}
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path == dir {
			return nil
		}
		rel := path[len(dir)+1:]
		if opts.Exclude != nil && opts.Exclude(rel) {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if opts.Converter.Passthrough() {
			kind, target := whiteout.Classify(e.Name())
			if kind == whiteout.Meta {
				if e.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			// A ".wh.NAME" file stands for NAME, as overlay's char device
			// named NAME does: an excluded NAME's deletion is left out too.
			if parent, _ := splitName(rel); kind == whiteout.Whiteout && opts.Exclude != nil && opts.Exclude(joinName(parent, target)) {
				return nil
			}
		}
		return d.entry(path, rel)
	})
	if err != nil {
		return fmt.Errorf("write diff of %s: %w", dir, err)
	}
	return d.tw.Close()
}

// TreeChange is one path of a full tree that differs from the image below
// it: Path is relative; Deleted marks a path gone from the tree.
type TreeChange struct {
	Path    string
	Deleted bool
}

// WriteChanges writes the listed paths of a full tree dir (a vfs container's
// copy) as a layer tar, deletions as ".wh." entries. changes must be sorted
// by path, so a directory comes before what it holds.
func WriteChanges(w io.Writer, dir string, changes []TreeChange, opts DiffOptions) error {
	if opts.Converter == nil {
		return fmt.Errorf("write changes: no whiteout converter")
	}
	d := &differ{tw: tar.NewWriter(w), opts: opts, links: map[inodeKey]string{}, buf: make([]byte, 256<<10)}
	for _, c := range changes {
		if opts.Exclude != nil && opts.Exclude(c.Path) {
			continue
		}
		if c.Deleted {
			parent, base := splitName(c.Path)
			if err := d.tw.WriteHeader(&tar.Header{
				Typeflag: tar.TypeReg, Name: joinName(parent, whiteout.TarName(base)),
				ModTime: d.clamp(time.Unix(0, 0)), Format: tar.FormatPAX,
			}); err != nil {
				return err
			}
			continue
		}
		if err := d.entry(filepath.Join(dir, c.Path), c.Path); err != nil {
			return fmt.Errorf("write changes of %s: %w", dir, err)
		}
	}
	return d.tw.Close()
}

type inodeKey struct{ dev, ino uint64 }

type differ struct {
	tw    *tar.Writer
	opts  DiffOptions
	links map[inodeKey]string // first name written for a hardlinked inode
	buf   []byte
}

func (d *differ) entry(path, rel string) error {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return err
	}
	mtime := d.clamp(time.Unix(st.Mtim.Unix()))
	conv := d.opts.Converter
	if conv.IsWhiteout(&st) {
		parent, base := splitName(rel)
		return d.tw.WriteHeader(&tar.Header{
			Typeflag: tar.TypeReg, Name: joinName(parent, whiteout.TarName(base)),
			ModTime: mtime, Format: tar.FormatPAX,
		})
	}
	h := &tar.Header{
		Name: rel, Mode: int64(st.Mode & 0o7777), Uid: int(st.Uid), Gid: int(st.Gid),
		ModTime: mtime, Format: tar.FormatPAX,
	}
	if err := d.xattrs(path, h); err != nil {
		return err
	}
	var body *os.File
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		h.Typeflag, h.Name = tar.TypeDir, rel+"/"
	case unix.S_IFLNK:
		target, err := os.Readlink(path)
		if err != nil {
			return err
		}
		h.Typeflag, h.Linkname = tar.TypeSymlink, target
	case unix.S_IFREG:
		key := inodeKey{st.Dev, st.Ino}
		if first, ok := d.links[key]; ok {
			h.Typeflag, h.Linkname = tar.TypeLink, first
			break
		}
		if st.Nlink > 1 {
			d.links[key] = rel
		}
		f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		h.Typeflag, h.Size, body = tar.TypeReg, st.Size, f
	case unix.S_IFCHR, unix.S_IFBLK:
		h.Typeflag = tar.TypeChar
		if st.Mode&unix.S_IFMT == unix.S_IFBLK {
			h.Typeflag = tar.TypeBlock
		}
		h.Devmajor, h.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	case unix.S_IFIFO:
		h.Typeflag = tar.TypeFifo
	default:
		return nil // sockets have no tar form
	}
	if err := d.tw.WriteHeader(h); err != nil {
		return err
	}
	if body != nil {
		// The size was written first: a file that changes size while it is
		// read must fail, not produce a bad tar.
		n, err := io.CopyBuffer(d.tw, io.LimitReader(body, h.Size), d.buf)
		if err != nil {
			return err
		}
		if n != h.Size {
			return fmt.Errorf("%s shrank while it was read", rel)
		}
	}
	if h.Typeflag == tar.TypeDir {
		opaque, err := conv.IsOpaque(path)
		if err != nil {
			return err
		}
		if opaque && !conv.Passthrough() {
			return d.tw.WriteHeader(&tar.Header{
				Typeflag: tar.TypeReg, Name: joinName(rel, whiteout.OpaqueMarker),
				ModTime: mtime, Format: tar.FormatPAX,
			})
		}
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

// InitPaths are the files and mountpoints of a container's -init layer
// (relative): a commit leaves them out even when a process wrote to them.
var InitPaths = []string{
	"etc/hosts", "etc/hostname", "etc/resolv.conf", "etc/mtab",
	"proc", "sys", "dev",
}

// ExcludeInit is an Exclude func for InitPaths.
func ExcludeInit(rel string) bool {
	for _, p := range InitPaths {
		if rel == p || strings.HasPrefix(rel, p+"/") {
			return true
		}
	}
	return false
}
