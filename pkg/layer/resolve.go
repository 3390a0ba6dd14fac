package layer

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

const dirFlags = unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC

// openBeneath opens the directory name below root without following any
// symlink and without leaving root (openat2 RESOLVE_BENEATH|NO_SYMLINKS,
// or a component-by-component walk with O_NOFOLLOW where openat2 is missing).
func openBeneath(root int, name string) (int, error) {
	if name == "" {
		name = "."
	}
	fd, err := unix.Openat2(root, name, &unix.OpenHow{
		Flags:   dirFlags,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV,
	})
	if !errors.Is(err, unix.ENOSYS) {
		return fd, err
	}
	return walkBeneath(root, name, false)
}

// walkBeneath opens name component by component, never following a symlink;
// with create, missing directories are made (mode 0755, as Docker does for
// parents a tar does not list).
func walkBeneath(root int, name string, create bool) (int, error) {
	cur, err := unix.Openat(root, ".", dirFlags, 0)
	if err != nil {
		return -1, err
	}
	for _, comp := range strings.Split(name, "/") {
		if comp == "" || comp == "." {
			continue
		}
		next, err := unix.Openat(cur, comp, dirFlags|unix.O_NOFOLLOW, 0)
		if errors.Is(err, unix.ENOENT) && create {
			if err = unix.Mkdirat(cur, comp, 0o755); err == nil || errors.Is(err, unix.EEXIST) {
				next, err = unix.Openat(cur, comp, dirFlags|unix.O_NOFOLLOW, 0)
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
		fd, err = walkBeneath(a.root, parentName, true)
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
}
