package build

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/layerctl/layerctl/pkg/container"
)

// ADD extracts local tar archives, plain or gzip, bzip2 or zstd
// compressed (container.Decompressed tells them apart).

// isArchive tells whether a context file is a tar archive ADD extracts.
func isArchive(root *os.Root, name string) bool {
	f, err := root.Open(name)
	if err != nil {
		return false
	}
	defer f.Close()
	r, done, err := container.Decompressed(f)
	if err != nil {
		return false
	}
	defer done()
	_, err = tar.NewReader(r).Next()
	return err == nil
}

// extract unpacks an archive under dir. Entries keep the archive's owners
// unless --chown; every path stays inside the root.
func (t target) extract(from *os.Root, name, dir string) error {
	f, err := from.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	r, done, err := container.Decompressed(f)
	if err != nil {
		return err
	}
	defer done()
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		if rel == "" {
			continue
		}
		if err := t.extractEntry(tr, h, path.Join(dir, rel), dir); err != nil {
			return fmt.Errorf("%s: %w", h.Name, err)
		}
	}
}

func (t target) extractEntry(tr *tar.Reader, h *tar.Header, to, dir string) error {
	sub := target{root: t.root, uid: h.Uid, gid: h.Gid}
	if t.uid != 0 || t.gid != 0 {
		sub.uid, sub.gid = t.uid, t.gid
	}
	if err := t.mkdirAll(path.Dir(to)); err != nil {
		return err
	}
	if err := t.prepare(to, h.Typeflag == tar.TypeDir); err != nil {
		return err
	}
	if old, err := t.root.Lstat(to); err == nil && !(old.IsDir() && h.Typeflag == tar.TypeDir) {
		if err := t.root.RemoveAll(to); err != nil {
			return err
		}
	}
	switch h.Typeflag {
	case tar.TypeDir:
		if err := t.root.Mkdir(to, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	case tar.TypeReg:
		out, err := t.root.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		_, err = io.Copy(out, tr)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	case tar.TypeSymlink:
		if err := t.root.Symlink(h.Linkname, to); err != nil {
			return err
		}
		return t.root.Lchown(to, sub.uid, sub.gid)
	case tar.TypeLink:
		old := path.Join(dir, strings.TrimPrefix(path.Clean("/"+h.Linkname), "/"))
		if _, err := t.root.Lstat(old); err != nil && t.draft != nil {
			return errNotPlain // a link to the image's file: a container copies it up
		}
		return t.root.Link(old, to)
	default:
		return fmt.Errorf("entry type %q is not extracted", h.Typeflag)
	}
	if err := t.root.Lchown(to, sub.uid, sub.gid); err != nil {
		return err
	}
	if err := t.root.Chmod(to, fs.FileMode(h.Mode)&(fs.ModePerm)|modeBits(h.Mode)); err != nil {
		return err
	}
	return t.root.Chtimes(to, h.ModTime, h.ModTime)
}

// modeBits turns a tar mode's setuid, setgid and sticky bits into Go's.
func modeBits(m int64) fs.FileMode {
	var out fs.FileMode
	if m&0o4000 != 0 {
		out |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		out |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		out |= fs.ModeSticky
	}
	return out
}
