package layer

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/whiteout"
)

const dirFlags = unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC

// openBeneath opens the directory name below root without following any
// symlink and without leaving root (openat2 RESOLVE_BENEATH|NO_SYMLINKS,
// or a component-by-component walk with O_NOFOLLOW where openat2 is missing).
func openBeneath(root int, name string) (int, error) {
	if name == "" {
		name = "."
	}
	fd, err := Openat2(root, name, &unix.OpenHow{
		Flags:   dirFlags,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV,
	})
	if !errors.Is(err, unix.ENOSYS) {
		return fd, err
	}
	return walkBeneath(root, name, nil)
}

// walkBeneath opens name component by component, never following a symlink.
// With made set, missing directories are created (mode 0755; the applier
// later gives them the lower layers' attributes) and made is told of each,
// open, with its path.
func walkBeneath(root int, name string, made func(fd int, path string) error) (int, error) {
	cur, err := unix.Openat(root, ".", dirFlags, 0)
	if err != nil {
		return -1, err
	}
	path := ""
	for _, comp := range strings.Split(name, "/") {
		if comp == "" || comp == "." {
			continue
		}
		path = joinName(path, comp)
		next, err := unix.Openat(cur, comp, dirFlags|unix.O_NOFOLLOW, 0)
		if errors.Is(err, unix.ENOENT) && made != nil {
			created := false
			if err = unix.Mkdirat(cur, comp, 0o755); err == nil {
				created = true
			}
			if err == nil || errors.Is(err, unix.EEXIST) {
				next, err = unix.Openat(cur, comp, dirFlags|unix.O_NOFOLLOW, 0)
			}
			if err == nil && created {
				if err = made(next, path); err != nil {
					unix.Close(next)
				}
			}
		}
		unix.Close(cur)
		if err != nil {
			return -1, err
		}
		cur = next
	}
	return cur, nil
}

// parent returns an open handle on the directory parentName inside the layer,
// creating missing directories. The handle stays owned by the applier.
func (a *applier) parent(parentName string) (int, error) {
	if a.lastParentFD > 0 && a.lastParent == parentName {
		return a.lastParentFD, nil
	}
	a.forgetParent()
	fd, err := openBeneath(a.root, parentName)
	if errors.Is(err, unix.ENOENT) {
		fd, err = walkBeneath(a.root, parentName, a.impliedDir)
	}
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.EXDEV) {
		return -1, fmt.Errorf("%w: parent %q is a symlink or not a directory", ErrUnsafeEntry, parentName)
	}
	if err != nil {
		return -1, fmt.Errorf("open parent %q: %w", parentName, err)
	}
	a.lastParent, a.lastParentFD = parentName, fd
	return fd, nil
}

func (a *applier) forgetParent() {
	if a.lastParentFD > 0 {
		unix.Close(a.lastParentFD)
	}
	a.lastParent, a.lastParentFD = "", 0
	a.owner.parentSGID = 0
}

// impliedDir notes a directory the tar did not list, made as the parent of
// an entry: it takes the lower layers' attributes for it at the end of the
// stream (fixImplied). Asking the lower layers now would make a pull wait
// for the parent layer mid-stream.
func (a *applier) impliedDir(_ int, name string) error {
	if a.opts.Lower != nil {
		a.implied = append(a.implied, name)
	}
	return nil
}

// fixImplied gives each implied directory the attributes the same directory
// has in the layers below, so the layer does not mask them with 0755
// root:root in the merged view. A directory the tar listed after all keeps
// its own.
func (a *applier) fixImplied() error {
	for _, name := range a.implied {
		if _, listed := a.entries[name]; listed {
			continue // the tar made it itself after all (a dir or not)
		}
		if err := a.impliedAttrs(name); err != nil {
			return fmt.Errorf("directory %q: %w", name, err)
		}
	}
	return nil
}

func (a *applier) impliedAttrs(name string) error {
	lower, err := a.opts.Lower(a.ctx, name)
	if err != nil {
		return nil // not below either: 0755 root:root it stays
	}
	defer lower.Close()
	// The handle opens nothing; only a directory is opened through it.
	var st unix.Stat_t
	if err := unix.Fstat(int(lower.Fd()), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return err
	}
	from, err := reopenDir(int(lower.Fd()))
	if err != nil {
		return err
	}
	defer unix.Close(from)
	path, err := openBeneath(a.root, name)
	if err != nil {
		return nil // no longer a directory of this layer (a whiteout, a clear)
	}
	defer unix.Close(path)
	// An O_PATH handle takes no attribute changes.
	dir, err := reopenDir(path)
	if err != nil {
		return err
	}
	defer unix.Close(dir)
	if err := unix.Fchown(dir, int(st.Uid), int(st.Gid)); err != nil {
		return err
	}
	if err := unix.Fchmod(dir, st.Mode&0o7777); err != nil {
		return err
	}
	if err := copyFdXattrs(from, dir, a.opts.Converter); err != nil {
		return err
	}
	a.dirTimes = append(a.dirTimes, dirTime{name: name, ts: [2]unix.Timespec{st.Atim, st.Mtim}})
	return nil
}

// copyFdXattrs copies the extended attributes of one open file to another,
// except the driver's own.
func copyFdXattrs(from, to int, conv whiteout.Converter) error {
	names, err := whiteout.ListXattrsFd(from)
	if err != nil {
		return err
	}
	for _, name := range names {
		if conv.IsNativeXattr(name) {
			continue
		}
		val, err := whiteout.GetXattrFd(from, name)
		if err != nil {
			return err
		}
		if err := unix.Fsetxattr(to, name, val, 0); err != nil {
			return fmt.Errorf("set xattr %s: %w", name, err)
		}
	}
	return nil
}
