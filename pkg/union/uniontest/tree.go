// Package uniontest holds what the union and container tests share: a record
// form of a file tree that a directory and a flattened image tar both turn
// into, stores filled through the real pull path, the images every driver
// must show alike, and mount checks that need root.
package uniontest

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Record is what a tree shows of one entry: what a union mount, a
// materialised copy and a flattened image tar must agree on. Times and inode
// numbers are left out: copies and mounts do not keep them alike.
type Record struct {
	Type   string // dir, file, symlink, fifo, char, block, socket
	Mode   uint32 // permission bits with setuid, setgid and sticky
	UID    int
	GID    int
	Size   int64             // regular files
	Hash   string            // sha256 of a regular file's content
	Target string            // a symlink's target
	Rdev   uint64            // a device's number
	Xattrs map[string]string // without the overlay driver's own
}

func (r Record) String() string {
	s := fmt.Sprintf("%s %04o %d:%d", r.Type, r.Mode, r.UID, r.GID)
	switch r.Type {
	case "file":
		s += fmt.Sprintf(" size=%d sha256=%.12s", r.Size, r.Hash)
	case "symlink":
		s += " -> " + r.Target
	case "char", "block":
		s += fmt.Sprintf(" dev=%d:%d", unix.Major(r.Rdev), unix.Minor(r.Rdev))
	}
	for _, k := range slices.Sorted(maps.Keys(r.Xattrs)) {
		s += fmt.Sprintf(" %s=%q", k, r.Xattrs[k])
	}
	return s
}

func (r Record) equal(o Record) bool {
	return r.Type == o.Type && r.Mode == o.Mode && r.UID == o.UID && r.GID == o.GID &&
		r.Size == o.Size && r.Hash == o.Hash && r.Target == o.Target && r.Rdev == o.Rdev &&
		maps.Equal(r.Xattrs, o.Xattrs)
}

// Tree maps absolute paths inside the tree ("/" is its root) to records.
type Tree map[string]Record

// Without returns a copy of t without the named paths and what is below them.
func (t Tree) Without(paths ...string) Tree {
	out := Tree{}
	for p, r := range t {
		if !slices.ContainsFunc(paths, func(q string) bool { return p == q || strings.HasPrefix(p, q+"/") }) {
			out[p] = r
		}
	}
	return out
}

// Overlay returns t with the entries of upper on top, as a union shows them:
// where either side is not a directory, the upper entry replaces the lower
// one and everything below it.
func (t Tree) Overlay(upper Tree) Tree {
	out := maps.Clone(t)
	for _, p := range slices.Sorted(maps.Keys(upper)) { // parents first
		r := upper[p]
		if old, ok := out[p]; ok && (old.Type != "dir" || r.Type != "dir") {
			out = out.Without(p)
		}
		out[p] = r
	}
	return out
}

// Diff lists how got differs from want, one line per path, sorted.
func Diff(want, got Tree) []string {
	var out []string
	for _, p := range slices.Sorted(maps.Keys(want)) {
		g, ok := got[p]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s: missing, want %s", p, want[p]))
		case !want[p].equal(g):
			out = append(out, fmt.Sprintf("%s: got %s, want %s", p, g, want[p]))
		}
	}
	for _, p := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[p]; !ok {
			out = append(out, fmt.Sprintf("%s: unexpected %s", p, got[p]))
		}
	}
	return out
}

// CheckSame fails the test with every difference between two trees.
func CheckSame(t testing.TB, wantName string, want Tree, gotName string, got Tree) {
	t.Helper()
	d := Diff(want, got)
	if len(d) == 0 {
		return
	}
	if len(d) > 40 {
		d = append(d[:40], fmt.Sprintf("... and %d more", len(d)-40))
	}
	t.Errorf("%s differs from %s:\n\t%s", gotName, wantName, strings.Join(d, "\n\t"))
}

// Walk records the tree under root, never following a symlink.
func Walk(root string) (Tree, error) {
	t := Tree{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		r, err := Stat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		t[path.Join("/", rel)] = r
		return nil
	})
	return t, err
}

// MustWalk is Walk that fails the test on error.
func MustWalk(t testing.TB, root string) Tree {
	t.Helper()
	tree, err := Walk(root)
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	return tree
}

// Stat records one entry.
func Stat(p string) (Record, error) {
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return Record{}, err
	}
	r := Record{Mode: st.Mode & 0o7777, UID: int(st.Uid), GID: int(st.Gid)}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		r.Type = "dir"
	case unix.S_IFREG:
		r.Type, r.Size = "file", st.Size
		h, err := hashFile(p)
		if err != nil {
			return r, err
		}
		r.Hash = h
	case unix.S_IFLNK:
		r.Type = "symlink"
		target, err := os.Readlink(p)
		if err != nil {
			return r, err
		}
		r.Target = target
	case unix.S_IFIFO:
		r.Type = "fifo"
	case unix.S_IFCHR:
		r.Type, r.Rdev = "char", st.Rdev
	case unix.S_IFBLK:
		r.Type, r.Rdev = "block", st.Rdev
	case unix.S_IFSOCK:
		r.Type = "socket"
	}
	x, err := Xattrs(p)
	if err != nil {
		return r, err
	}
	for k := range x {
		if strings.HasPrefix(k, "trusted.overlay.") {
			delete(x, k)
		}
	}
	if len(x) > 0 {
		r.Xattrs = x
	}
	return r, nil
}

func hashFile(p string) (string, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Xattrs reads every extended attribute of p (a symlink itself, not its
// target), the overlay driver's included.
func Xattrs(p string) (map[string]string, error) {
	size, err := unix.Llistxattr(p, nil)
	if errors.Is(err, unix.ENOTSUP) || size == 0 {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list xattrs of %s: %w", p, err)
	}
	buf := make([]byte, size)
	n, err := unix.Llistxattr(p, buf)
	if err != nil {
		return nil, fmt.Errorf("list xattrs of %s: %w", p, err)
	}
	out := map[string]string{}
	for _, name := range strings.Split(string(buf[:n]), "\x00") {
		if name == "" {
			continue
		}
		vsize, err := unix.Lgetxattr(p, name, nil)
		if err != nil {
			return nil, fmt.Errorf("get xattr %s of %s: %w", name, p, err)
		}
		val := make([]byte, vsize)
		vn, err := unix.Lgetxattr(p, name, val)
		if err != nil {
			return nil, fmt.Errorf("get xattr %s of %s: %w", name, p, err)
		}
		out[name] = string(val[:vn])
	}
	return out, nil
}

// FromTar records the tree a flattened image tar (mutate.Extract) holds. A
// hardlink gets its target's record, as it is the same inode once extracted.
func FromTar(r io.Reader) (Tree, error) {
	t := Tree{}
	links := map[string]string{}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		p := path.Join("/", hdr.Name)
		rec := Record{Mode: uint32(hdr.Mode) & 0o7777, UID: hdr.Uid, GID: hdr.Gid}
		switch hdr.Typeflag {
		case tar.TypeDir:
			rec.Type = "dir"
		case tar.TypeReg:
			h := sha256.New()
			n, err := io.Copy(h, tr)
			if err != nil {
				return nil, err
			}
			rec.Type, rec.Size, rec.Hash = "file", n, hex.EncodeToString(h.Sum(nil))
		case tar.TypeSymlink:
			rec.Type, rec.Target = "symlink", hdr.Linkname
		case tar.TypeLink:
			links[p] = path.Join("/", hdr.Linkname)
			continue
		case tar.TypeFifo:
			rec.Type = "fifo"
		case tar.TypeChar:
			rec.Type, rec.Rdev = "char", unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
		case tar.TypeBlock:
			rec.Type, rec.Rdev = "block", unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
		default:
			return nil, fmt.Errorf("%s: unexpected tar type %q", hdr.Name, hdr.Typeflag)
		}
		for k, v := range hdr.PAXRecords {
			if name, ok := strings.CutPrefix(k, "SCHILY.xattr."); ok {
				if rec.Xattrs == nil {
					rec.Xattrs = map[string]string{}
				}
				rec.Xattrs[name] = v
			}
		}
		t[p] = rec
	}
	for p, target := range links {
		rec, ok := t[target]
		if !ok {
			return nil, fmt.Errorf("hardlink %s: target %s is not in the tar", p, target)
		}
		t[p] = rec
	}
	return t, nil
}

// Exact records a tree for a before/after comparison of directories nothing
// may change: each entry's record with its full content hash, its mtime and
// every xattr (the overlay driver's included).
func Exact(root string) (map[string]string, error) {
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		r, err := Stat(p)
		if err != nil {
			return err
		}
		x, err := Xattrs(p)
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out[path.Join("/", rel)] = fmt.Sprintf("%s sha256=%s mtime=%d.%09d xattrs=%v", r, r.Hash, st.Mtim.Sec, st.Mtim.Nsec, x)
		return nil
	})
	return out, err
}

// Inode is the identity of an entry, to check which paths are one file.
func Inode(t testing.TB, p string) [2]uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return [2]uint64{st.Dev, st.Ino}
}
