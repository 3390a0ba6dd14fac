package layer

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// A layer's stream may carry content that its diff dir cannot hold: a file
// written twice, a file (or a dir of files) that a later entry of the same
// layer replaces, the payload of a whiteout or of an aufs marker. The
// applier keeps such content in the shadow dir beside the diff dir, one
// file per tar entry named by its index, so that every layer that applies
// also reassembles byte for byte. The entries whose objects a later entry
// replaced are listed (ApplyResult.Shadowed): verify does not look for them
// in the diff dir.

// shadowDir opens (making it on first use) the directory for shadowed
// content; -1 when the caller keeps none.
func (a *applier) shadowDir() (int, error) {
	if a.shadowFd > 0 || a.opts.Shadow == "" {
		return a.shadowFd, nil
	}
	if err := unix.Mkdir(a.opts.Shadow, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
		return -1, fmt.Errorf("make %s: %w", a.opts.Shadow, err)
	}
	fd, err := unix.Open(a.opts.Shadow, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open %s: %w", a.opts.Shadow, err)
	}
	a.shadowFd = fd
	return fd, nil
}

// keepRest keeps what is left of the current entry's payload (content the
// diff dir did not take) as the entry's shadow.
func (a *applier) keepRest(r io.Reader) error {
	n, err := io.ReadAtLeast(r, a.buf, 1)
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return err
	}
	dir, err := a.shadowDir()
	if err != nil || dir < 0 {
		if err == nil {
			_, err = io.CopyBuffer(io.Discard, r, a.buf)
		}
		return err
	}
	fd, err := unix.Openat(dir, strconv.Itoa(a.index), unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	w := &holeWriter{fd: fd}
	if _, err := w.Write(a.buf[:n]); err != nil {
		return err
	}
	if _, err := io.CopyBuffer(w, struct{ io.Reader }{r}, a.buf); err != nil {
		return err
	}
	return w.finish()
}

// made notes that the current entry made the object at name; content tells
// that its payload is that regular file's content.
func (a *applier) made(name string, content bool) {
	a.madeBy[name] = []int{a.index}
	if content {
		a.contentOf[name] = a.index
	}
}

// replace is told, before the object at name (a directory with all below
// it, when dir is set) goes, and keeps what its entries carried. A directory
// is walked, not the entries: what goes is walked once, so a layer replacing
// many directories costs no more than making them.
func (a *applier) replace(parent int, name, base string, dir bool) error {
	names := []string{name}
	if dir {
		// The parent chain was resolved without symlinks, and WalkDir
		// follows none.
		top := a.dir + "/" + name
		err := filepath.WalkDir(top, func(path string, _ fs.DirEntry, err error) error {
			if err == nil && path != top {
				names = append(names, name+path[len(top):])
			}
			return err
		})
		if err != nil {
			return err
		}
	}
	for _, n := range names {
		if idx, ok := a.contentOf[n]; ok {
			if err := a.shadowContent(parent, name, base, n, idx); err != nil {
				return fmt.Errorf("keep the content of %q: %w", n, err)
			}
			delete(a.contentOf, n)
		}
		a.shadowed = append(a.shadowed, a.madeBy[n]...)
		delete(a.madeBy, n)
		delete(a.copiedLive, n) // a copied hardlink target gone is no longer the layer's

	}
	return nil
}

// shadowContent moves (or, when other links share its inode, copies) the
// file n, at or below parent/base (name), to shadow/idx.
func (a *applier) shadowContent(parent int, name, base, n string, idx int) error {
	dir, err := a.shadowDir()
	if err != nil || dir < 0 {
		return err
	}
	from, fromBase := parent, base
	if n != name {
		nparent, nbase := splitName(n)
		fd, err := openBeneath(a.root, nparent)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		from, fromBase = fd, nbase
	}
	var st unix.Stat_t
	if err := unix.Fstatat(from, fromBase, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return errNotRegular
	}
	to := strconv.Itoa(idx)
	if st.Nlink == 1 {
		return unix.Renameat(from, fromBase, dir, to)
	}
	// Another name in the layer keeps the inode: a link more would show.
	src, err := openRegular(from, fromBase)
	if err != nil {
		return err
	}
	defer src.Close()
	fd, err := unix.Openat(dir, to, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	_, err = writeContent(fd, src, a.buf)
	return err
}

// removeName removes a non-directory that may have been moved to the
// shadow already.
func removeName(parent int, base string) error {
	if err := unix.Unlinkat(parent, base, 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return err
	}
	return nil
}

// copiedLeft lists the copied hardlink targets still in the layer, once each.
func (a *applier) copiedLeft() []string {
	var out []string
	for _, c := range a.copied {
		if a.copiedLive[c] {
			out = append(out, c)
			delete(a.copiedLive, c)
		}
	}
	return out
}
