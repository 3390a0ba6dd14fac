package build

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/moby/patternmatcher"
)

// source is a tree COPY reads: every path is opened through root, so no
// symlink leads out of it.
type source struct {
	root   *os.Root
	ignore *patternmatcher.PatternMatcher // .dockerignore; nil for none
}

func (s source) excluded(rel string) bool {
	if s.ignore == nil || rel == "." {
		return false
	}
	ok, _ := s.ignore.MatchesOrParentMatches(rel)
	return ok
}

// match lists the source paths a COPY source names: itself, or what its
// wildcards match, less what .dockerignore excludes.
func (s source) match(name string) ([]string, error) {
	rel := path.Clean(strings.TrimPrefix(path.Clean("/"+name), "/"))
	if strings.HasPrefix(path.Clean(name), "..") {
		return nil, fmt.Errorf("%s: outside the build context", name)
	}
	if rel == "" {
		rel = "."
	}
	if !strings.ContainsAny(rel, "*?[") {
		if _, err := s.root.Lstat(rel); err != nil || s.excluded(rel) {
			return nil, fmt.Errorf("%s: no such file or directory in the build context", name)
		}
		return []string{rel}, nil
	}
	var out []string
	segs := strings.Split(rel, "/")
	err := fs.WalkDir(s.root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if s.excluded(p) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if p == "." {
			return nil
		}
		if ok, _ := path.Match(rel, p); ok {
			out = append(out, p)
		}
		// A wildcard matches no "/": nothing deeper than the pattern, or
		// under a directory its leading segments do not match, can match.
		depth := strings.Count(p, "/") + 1
		if d.IsDir() && depth < len(segs) {
			if ok, _ := path.Match(strings.Join(segs[:depth], "/"), p); ok {
				return nil
			}
		}
		if d.IsDir() {
			return fs.SkipDir
		}
		return nil
	})
	if err == nil && len(out) == 0 {
		err = fmt.Errorf("%s: no source files were specified", name)
	}
	return out, err
}

// target is where COPY writes: rootfs opened as a root (an image's symlink
// never leads out of it), and the owner and mode it gives.
type target struct {
	root     *os.Root
	uid, gid int
	chmod    *fs.FileMode
	draft    *draftView // rootfs is a draft layer's diff dir; nil for a container's rootfs
}

// writeSources copies the request's sources to dest, into rootfs (a
// container's) or into draft's diff dir.
func writeSources(src source, rootfs string, draft *draftView, dest string, r copyRequest) error {
	t := target{draft: draft}
	if draft != nil {
		rootfs = draft.draft.Dir
	}
	root, err := os.OpenRoot(rootfs)
	if err != nil {
		return err
	}
	defer root.Close()
	t.root = root
	if t.uid, t.gid, err = chownIDs(root, r.chown); err != nil {
		return err
	}
	if r.chmod != "" {
		m, err := strconv.ParseUint(r.chmod, 8, 32)
		if err != nil || m > 0o7777 {
			return fmt.Errorf("--chmod=%s: want an octal mode", r.chmod)
		}
		mode := fs.FileMode(m & 0o777)
		t.chmod = &mode
	}
	var items []string
	for _, s := range r.SourcePaths {
		m, err := src.match(s)
		if err != nil {
			return err
		}
		items = append(items, m...)
	}
	destRel := strings.TrimPrefix(path.Clean(dest), "/")
	if destRel == "" {
		destRel = "."
	}
	destIsDir := strings.HasSuffix(dest, "/") || len(items) > 1
	if draft == nil { // a draft sends a write through a symlink to a container
		if destRel, err = resolveDest(root, destRel); err != nil {
			return err
		}
	}
	if isDir, err := t.isDir(destRel); err != nil {
		return err
	} else if isDir {
		destIsDir = true
	}
	for _, item := range items {
		fi, err := src.root.Stat(item) // a symlink named as a source: its target
		if err != nil {
			return fmt.Errorf("%s: %w", item, err)
		}
		to := destRel
		switch {
		case fi.IsDir():
		case r.add && isArchive(src.root, item):
			err := t.mkdirAll(destRel)
			if err == nil {
				err = t.extract(src.root, item, destRel)
			}
			if err != nil {
				return fmt.Errorf("ADD %s: %w", item, err)
			}
			continue
		case destIsDir:
			to = path.Join(destRel, path.Base(item))
		}
		if err := t.mkdirAll(path.Dir(to)); err != nil {
			return err
		}
		if err := t.copyTree(src, item, to, fi); err != nil {
			return err
		}
	}
	return nil
}

// mkdirAll makes the missing directories of rel, owned as COPY says.
func (t target) mkdirAll(rel string) error {
	if t.draft != nil {
		return t.mkdirDraft(rel)
	}
	if rel == "." || rel == "/" {
		return nil
	}
	if fi, err := t.root.Stat(rel); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("/%s is not a directory", rel)
		}
		return nil
	}
	if err := t.mkdirAll(path.Dir(rel)); err != nil {
		return err
	}
	if err := t.root.Mkdir(rel, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return t.root.Lchown(rel, t.uid, t.gid)
}

// copyTree copies from (a file, symlink target or directory whose contents
// go to to) as Docker does: modes and mtimes kept, symlinks inside a
// directory kept as symlinks, owner 0:0 or --chown.
func (t target) copyTree(src source, from, to string, top fs.FileInfo) error {
	if !top.IsDir() {
		if err := t.prepare(to, false); err != nil {
			return err
		}
		return t.copyEntry(src.root, from, t.root, to, top)
	}
	w := treeWalk{target: t, src: src, from: from, to: to, top: top,
		srcDirs: newRootCache(src.root), dstDirs: newRootCache(t.root)}
	defer w.srcDirs.close()
	defer w.dstDirs.close()
	if t.draft != nil {
		w.srcFiles, w.dstFiles = newDirHandles(src.root), newDirHandles(t.root)
		defer w.srcFiles.close()
		defer w.dstFiles.close()
	}
	if err := fs.WalkDir(src.root.FS(), from, w.entry); err != nil {
		return err
	}
	for i := len(w.dirs) - 1; i >= 0; i-- { // children first: their writes touch the parent
		if err := t.root.Chtimes(w.dirs[i].rel, w.dirs[i].mtime, w.dirs[i].mtime); err != nil {
			return err
		}
	}
	return nil
}

// treeWalk is one directory's copy.
type treeWalk struct {
	target
	src                source
	from, to           string
	top                fs.FileInfo
	srcDirs, dstDirs   *rootCache
	srcFiles, dstFiles *dirHandles // a draft's regular files go through these
	dirs               []dirMtime
}

type dirMtime struct {
	rel   string
	mtime time.Time
}

// entry copies one entry of the walk.
func (w *treeWalk) entry(p string, d fs.DirEntry, err error) error {
	if err != nil {
		return err
	}
	if p != w.from && w.src.excluded(p) {
		if d.IsDir() {
			return fs.SkipDir
		}
		return nil
	}
	fi := w.top
	if p != w.from {
		if fi, err = d.Info(); err != nil {
			return err
		}
	}
	dst := path.Join(w.to, w.rel(p))
	if err := w.prepare(dst, fi.IsDir()); err != nil {
		return err
	}
	if w.srcFiles != nil && fi.Mode().IsRegular() {
		if err := w.copyFile(p, dst, fi); !errors.Is(err, errTaken) {
			return err
		}
	}
	if err := w.copyOver(p, dst, fi); err != nil {
		return err
	}
	if fi.IsDir() {
		w.dirs = append(w.dirs, dirMtime{dst, w.mtime(fi)})
	}
	return nil
}

// rel is p's path under the walk's source: a walk from "." gives names
// without a "./" (".env", not "./.env"), so no prefix is cut from them.
func (w *treeWalk) rel(p string) string {
	if w.from == "." {
		return p
	}
	return strings.TrimPrefix(strings.TrimPrefix(p, w.from), "/")
}

// copyOver copies an entry through the directories' roots, replacing what
// is there.
func (w *treeWalk) copyOver(p, dst string, fi fs.FileInfo) error {
	sroot, sname, err := w.srcDirs.at(p)
	if err != nil {
		return err
	}
	droot, dname, err := w.dstDirs.at(dst)
	if err != nil {
		return err
	}
	return w.copyEntry(sroot, sname, droot, dname, fi)
}

// copyFile copies a regular file by its directories' handles, or says
// errTaken.
func (w *treeWalk) copyFile(p, dst string, fi fs.FileInfo) error {
	sdir, sname, err := w.srcFiles.at(p)
	if err != nil {
		return err
	}
	ddir, dname, err := w.dstFiles.at(dst)
	if err != nil {
		return err
	}
	chown := !w.dstFiles.madeAs(ddir, w.uid, w.gid)
	return w.copyRegular(sdir, sname, ddir, dname, chown, w.modeOf(fi), w.mtime(fi))
}

// copyEntry makes one file, directory or symlink at to in dst, from from
// in src.
func (t target) copyEntry(src *os.Root, from string, dst *os.Root, to string, fi fs.FileInfo) error {
	mode := t.modeOf(fi)
	switch {
	case fi.IsDir():
		if old, err := dst.Lstat(to); err == nil && !old.IsDir() {
			if err := dst.Remove(to); err != nil {
				return err
			}
		}
		if err := dst.Mkdir(to, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	case fi.Mode()&fs.ModeSymlink != 0:
		link, err := src.Readlink(from)
		if err != nil {
			return err
		}
		dst.RemoveAll(to)
		if err := dst.Symlink(link, to); err != nil {
			return err
		}
		return dst.Lchown(to, t.uid, t.gid)
	case fi.Mode().IsRegular():
		if err := writeFile(src, from, dst, to); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%s: %s files cannot be copied", from, fi.Mode().Type())
	}
	if err := dst.Lchown(to, t.uid, t.gid); err != nil {
		return err
	}
	if err := dst.Chmod(to, mode); err != nil {
		return err
	}
	return dst.Chtimes(to, t.mtime(fi), t.mtime(fi))
}

// modeOf is the mode COPY gives a copy of fi: its own or --chmod's.
func (t target) modeOf(fi fs.FileInfo) fs.FileMode {
	if t.chmod != nil {
		return *t.chmod
	}
	return fi.Mode().Perm() | fi.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)
}

// mtime is the mtime a copy of fi gets: a draft's are clamped as its
// layer's tar will have them, sparing a change once it is written.
func (t target) mtime(fi fs.FileInfo) time.Time {
	if t.draft != nil && !t.draft.clamp.IsZero() && fi.ModTime().After(t.draft.clamp) {
		return t.draft.clamp
	}
	return fi.ModTime()
}

// writeFile copies a regular file's content, replacing what was at to.
func writeFile(from *os.Root, name string, dst *os.Root, to string) error {
	in, err := from.Open(name)
	if err != nil {
		return err
	}
	defer in.Close()
	if old, err := dst.Lstat(to); err == nil && (old.IsDir() || old.Mode()&fs.ModeSymlink != 0) {
		if err := dst.RemoveAll(to); err != nil {
			return err
		}
	}
	out, err := dst.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}
