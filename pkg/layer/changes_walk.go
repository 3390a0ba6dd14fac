package layer

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/whiteout"
)

// walker walks an upper tree and the lower layers beside it, one directory
// at a time: for each directory of the upper tree it merges what the lower
// copies of that directory show (one readdir per copy), so the cost follows
// the upper tree, never the whole image.
type walker struct {
	ctx      context.Context
	opts     WalkOptions
	fn       func(Change) error
	fnFailed bool                // the error came from fn: returned unwrapped
	links    map[inodeKey]string // first path yielded for a hardlinked inode
}

// upperEntry is one classified child of an upper directory.
type upperEntry struct {
	name   string
	st     unix.Stat_t
	kind   whiteout.Kind // Regular or Whiteout
	target string        // Whiteout: the name it deletes
}

// lowerEntry is what the lower layers show at one name of a directory.
type lowerEntry struct {
	path   string   // the entry shown; empty when a whiteout hides the name
	dirs   []string // the shown entry is a directory: its copies, nearest first
	closed bool     // deeper layers no longer add to the name
}

// childEvent is one name of a directory's merged listing: an upper entry
// (plain or whiteout) or, in an opaque directory, a hidden lower one (up nil).
type childEvent struct {
	name string
	up   *upperEntry
}

func (w *walker) root(upper string) error {
	upper = filepath.Clean(upper)
	entries, _, err := w.readUpper(upper)
	if err != nil {
		return err
	}
	// The root is never opaque: the lower roots are the image's.
	return w.children(upper, "", entries, false, w.opts.Lower)
}

// readUpper reads and classifies the children of an upper directory, sorted
// by name; opaque tells whether the directory hides its lower children.
func (w *walker) readUpper(path string) (entries []upperEntry, opaque bool, err error) {
	if err := w.ctx.Err(); err != nil {
		return nil, false, err
	}
	f, err := openDir(path)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, false, err
	}
	sort.Strings(names)
	fd := int(f.Fd())
	entries = make([]upperEntry, 0, len(names))
	for _, name := range names {
		e := upperEntry{name: name}
		if err := unix.Fstatat(fd, name, &e.st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return nil, false, &fs.PathError{Op: "lstat", Path: path + "/" + name, Err: err}
		}
		if !w.opts.Complete {
			e.kind, e.target = w.opts.Converter.ReadEntry(name, &e.st)
		}
		switch e.kind {
		case whiteout.Meta:
			continue
		case whiteout.Opaque:
			opaque = true
			continue
		case whiteout.Whiteout:
			if !whiteout.ValidTarget(e.target) {
				continue
			}
		}
		entries = append(entries, e)
	}
	if w.opts.Complete {
		return entries, false, nil
	}
	native, err := w.opts.Converter.IsOpaque(path)
	return entries, opaque || native, err
}

// children yields the changes below the upper directory path (at rel),
// whose lower copies are lowerDirs (nearest first).
func (w *walker) children(path, rel string, entries []upperEntry, opaque bool, lowerDirs []string) error {
	lower, err := w.mergeLower(lowerDirs)
	if err != nil {
		return err
	}
	plain := make(map[string]bool, len(entries))
	for _, e := range entries {
		if e.kind == whiteout.Regular {
			plain[e.name] = true
		}
	}
	events := make([]childEvent, 0, len(entries))
	// A name and its whiteout in one layer: the name stays, and hides
	// what the lower layers have under it (OCI layer.md).
	hidesBelow := map[string]bool{}
	covered := map[string]bool{}
	for i := range entries {
		e := &entries[i]
		switch {
		case e.kind == whiteout.Regular:
			events = append(events, childEvent{e.name, e})
		case plain[e.target]:
			hidesBelow[e.target] = true
		case !covered[e.target]:
			covered[e.target] = true
			events = append(events, childEvent{e.target, e})
		}
	}
	if opaque || w.opts.Complete {
		// What the lower layers show here and upper lacks is gone.
		for name, le := range lower {
			if le.path != "" && !plain[name] && !covered[name] {
				events = append(events, childEvent{name: name})
			}
		}
	}
	sort.Slice(events, func(i, j int) bool { return events[i].name < events[j].name })
	for _, ev := range events {
		childRel := joinName(rel, ev.name)
		if w.opts.Exclude != nil && w.opts.Exclude(childRel) {
			continue
		}
		le := lower[ev.name]
		if opaque && ev.up != nil {
			le = nil // what the upper tree has here is new
		}
		if err := w.child(path, childRel, ev, le, hidesBelow[ev.name]); err != nil {
			return err
		}
	}
	return nil
}

// child yields the change at one name of a directory and, for a directory,
// what it holds.
func (w *walker) child(dirPath, rel string, ev childEvent, le *lowerEntry, hidesBelow bool) error {
	c := Change{Path: rel}
	if le != nil && le.path != "" {
		c.Lower, c.LowerSource = new(unix.Stat_t), le.path
		if err := unix.Lstat(le.path, c.Lower); err != nil {
			return &fs.PathError{Op: "lstat", Path: le.path, Err: err}
		}
	}
	switch {
	case ev.up == nil: // hidden by the opaque parent, or missing from a complete tree
		c.Kind = Deleted
		return w.emit(c)
	case ev.up.kind == whiteout.Whiteout:
		c.Kind, c.Whiteout = Deleted, true
		c.Source, c.Stat = dirPath+"/"+ev.up.name, ev.up.st
		return w.emit(c)
	}
	c.Source, c.Stat, c.Kind = dirPath+"/"+ev.up.name, ev.up.st, Added
	if c.Lower != nil {
		c.Kind = Modified
		if w.opts.Complete {
			same, err := sameEntry(c.LowerSource, c.Source, c.Lower, &c.Stat)
			if err != nil {
				return err
			}
			if same {
				c.Kind = Unchanged
			}
		}
	}
	if c.Stat.Mode&unix.S_IFMT == unix.S_IFREG && c.Stat.Nlink > 1 {
		key := inodeKey{c.Stat.Dev, c.Stat.Ino}
		if first, ok := w.links[key]; ok {
			c.Link = first
		} else {
			w.links[key] = rel
		}
	}
	if c.Stat.Mode&unix.S_IFMT != unix.S_IFDIR {
		return w.emit(c)
	}
	entries, opaque, err := w.readUpper(c.Source)
	if err != nil {
		return err
	}
	c.Opaque = opaque || hidesBelow
	var lowerDirs []string
	if le != nil {
		lowerDirs = le.dirs
	}
	if w.opts.Complete {
		return w.completeDir(c, entries, lowerDirs)
	}
	if err := w.emit(c); err != nil {
		return err
	}
	return w.children(c.Source, rel, entries, c.Opaque, lowerDirs)
}

// completeDir yields a directory of a complete tree and what it holds:
// whether the directory itself is a change depends on its children, so
// theirs are held back until it is known.
func (w *walker) completeDir(c Change, entries []upperEntry, lowerDirs []string) error {
	var held []Change
	changed := false
	emit := w.fn
	w.fn = func(ch Change) error {
		held = append(held, ch)
		changed = changed || ch.Kind != Unchanged
		return nil
	}
	err := w.children(c.Source, c.Path, entries, false, lowerDirs)
	w.fn = emit
	if err != nil {
		return err
	}
	if c.Kind == Unchanged && changed {
		c.Kind = Modified // its attributes travel with the change
	}
	for _, ch := range append([]Change{c}, held...) {
		if err := w.emit(ch); err != nil {
			return err
		}
	}
	return nil
}

func (w *walker) emit(c Change) error {
	if c.Kind == Unchanged && !w.opts.Unchanged {
		return nil
	}
	if err := w.fn(c); err != nil {
		w.fnFailed = true
		return err
	}
	return nil
}

// mergeLower lists what the lower copies of one directory show, nearest
// first, by the union rules: the nearest entry of a name wins, a whiteout
// hides the name from the copies below it, an opaque copy hides every copy
// below it, and a non-directory hides the deeper copies of its name.
func (w *walker) mergeLower(dirs []string) (map[string]*lowerEntry, error) {
	if len(dirs) == 0 {
		return nil, nil
	}
	if err := w.ctx.Err(); err != nil {
		return nil, err
	}
	m := map[string]*lowerEntry{}
	for _, d := range dirs {
		stop, err := w.mergeCopy(m, d)
		if err != nil {
			return nil, err
		}
		if stop {
			break
		}
	}
	return m, nil
}

// mergeCopy adds one lower copy d of a directory to the listing m, and
// tells whether that copy is opaque.
func (w *walker) mergeCopy(m map[string]*lowerEntry, d string) (opaque bool, err error) {
	f, err := openDir(d)
	if err != nil {
		return false, err
	}
	ents, err := f.ReadDir(-1)
	f.Close()
	if err != nil {
		return false, err
	}
	var whiteouts []string
	for _, ent := range ents {
		name, p := ent.Name(), d+"/"+ent.Name()
		st := unix.Stat_t{Mode: typeBits(ent.Type())}
		if st.Mode == unix.S_IFCHR {
			// Only a device's number tells a native whiteout.
			if err := unix.Lstat(p, &st); err != nil {
				return false, &fs.PathError{Op: "lstat", Path: p, Err: err}
			}
		}
		kind, target := w.opts.Converter.ReadEntry(name, &st)
		switch kind {
		case whiteout.Meta:
			continue
		case whiteout.Opaque:
			opaque = true
			continue
		case whiteout.Whiteout:
			if whiteout.ValidTarget(target) {
				whiteouts = append(whiteouts, target)
			}
			continue
		}
		isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
		le := m[name]
		switch {
		case le == nil:
			le = &lowerEntry{path: p, closed: !isDir}
			if isDir {
				le.dirs = []string{p}
			}
			m[name] = le
		case le.closed:
		case isDir:
			le.dirs = append(le.dirs, p)
		default:
			le.closed = true // a file below a directory: hidden, and so is all below
		}
	}
	// After the plain entries: a whiteout beside its own name in one
	// layer hides only the copies below.
	for _, t := range whiteouts {
		if le := m[t]; le != nil {
			le.closed = true
		} else {
			m[t] = &lowerEntry{closed: true}
		}
	}
	native, err := w.opts.Converter.IsOpaque(d)
	return opaque || native, err
}

// typeBits turns a directory entry's type into the S_IFMT bits of a stat.
func typeBits(t fs.FileMode) uint32 {
	switch {
	case t&fs.ModeDir != 0:
		return unix.S_IFDIR
	case t&fs.ModeSymlink != 0:
		return unix.S_IFLNK
	case t&fs.ModeCharDevice != 0:
		return unix.S_IFCHR
	case t&fs.ModeDevice != 0:
		return unix.S_IFBLK
	case t&fs.ModeNamedPipe != 0:
		return unix.S_IFIFO
	case t&fs.ModeSocket != 0:
		return unix.S_IFSOCK
	}
	return unix.S_IFREG
}

// openDir opens a directory to read it, never a symlink nor anything that
// could block (a FIFO swapped in for it).
func openDir(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}
