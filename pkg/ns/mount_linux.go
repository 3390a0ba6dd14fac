package ns

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// Every mount of the init step goes through these helpers: a filesystem or a
// cloned tree is built detached (an fd), then attached onto a target fd that
// was resolved inside the rootfs. No path the image controls is ever handed
// to mount(2), so an image symlink cannot redirect a mount onto the host.

// newFS creates a detached mount of a new filesystem instance.
// opts are "key=value" or "flag" parameters; attrs are MOUNT_ATTR_* flags.
func newFS(fstype string, attrs int, opts ...string) (int, error) {
	fsfd, err := unix.Fsopen(fstype, unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("fsopen %s: %w", fstype, err)
	}
	defer unix.Close(fsfd)
	// The source shows in the container's mount table.
	if err := unix.FsconfigSetString(fsfd, "source", fstype); err != nil {
		return -1, fmt.Errorf("%s option source: %w", fstype, err)
	}
	for _, o := range opts {
		k, v, kv := strings.Cut(o, "=")
		if kv {
			err = unix.FsconfigSetString(fsfd, k, v)
		} else {
			err = unix.FsconfigSetFlag(fsfd, k)
		}
		if err != nil {
			return -1, fmt.Errorf("%s option %s: %w", fstype, o, err)
		}
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return -1, fmt.Errorf("create %s (%s): %w", fstype, strings.Join(opts, ","), err)
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, attrs)
	if err != nil {
		return -1, fmt.Errorf("fsmount %s: %w", fstype, err)
	}
	return mfd, nil
}

// cloneTree makes a detached copy of the mount (recursive: with its
// submounts) at dirfd/name, as a bind mount would.
func cloneTree(dirfd int, name string, recursive bool) (int, error) {
	flags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC)
	if recursive {
		flags |= unix.AT_RECURSIVE
	}
	if name == "" {
		flags |= unix.AT_EMPTY_PATH
	}
	fd, err := unix.OpenTree(dirfd, name, flags)
	if err != nil {
		return -1, fmt.Errorf("open_tree %s: %w", name, err)
	}
	return fd, nil
}

// setAttr sets MOUNT_ATTR_* flags on the mount mfd and every mount under
// it: a remount of the top alone would leave, say, writable submounts.
func setAttr(mfd int, attrs int) error {
	if attrs == 0 {
		return nil
	}
	attr := unix.MountAttr{Attr_set: uint64(attrs)}
	if err := unix.MountSetattr(mfd, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
		return fmt.Errorf("mount_setattr %#x: %w", attrs, err)
	}
	return nil
}

// attach mounts the detached mount mfd onto the file or directory target.
func attach(mfd, target int, what string) error {
	err := unix.MoveMount(mfd, "", target, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
	if err != nil {
		return fmt.Errorf("move_mount %s: %w", what, err)
	}
	return nil
}

// mountAt builds a filesystem and attaches it at the rootfs path p (made a
// directory when missing). It returns the mount's fd, which refers to the new
// filesystem's root.
func mountAt(root int, p, fstype string, attrs int, opts ...string) (int, error) {
	mfd, err := newFS(fstype, attrs, opts...)
	if err != nil {
		return -1, fmt.Errorf("mount %s on %s: %w", fstype, p, err)
	}
	if err := attachIn(root, p, mfd, true, fstype); err != nil {
		unix.Close(mfd)
		return -1, err
	}
	return mfd, nil
}

// attachIn attaches mfd at p inside root, creating p (a directory when dir,
// else an empty file) when it is missing.
func attachIn(root int, p string, mfd int, dir bool, what string) error {
	t, err := openInRoot(root, p, dir)
	if err != nil {
		return fmt.Errorf("mount %s on %s: %w", what, p, err)
	}
	defer unix.Close(t)
	var st unix.Stat_t
	if err := unix.Fstat(t, &st); err == nil && dir && st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("mount %s on %s: the image has a file there, not a directory", what, p)
	}
	if err := attach(mfd, t, what); err != nil {
		return fmt.Errorf("mount %s on %s: %w", what, p, err)
	}
	return nil
}

// openInRoot opens p (an O_PATH fd) resolving every component as if root
// were "/", so ".." and absolute symlinks of the image stay inside it.
// Missing components are created: directories, and a final empty file when
// dir is false. A dangling symlink on the way is followed, in root, and its
// target created, as Docker does for a volume target. filepath-securejoin's
// MkdirAllHandle would refuse such a path (its mkdir meets the link), which
// is why this stays ours.
func openInRoot(root int, p string, dir bool) (int, error) {
	const maxSteps = 255 // each step creates a component or follows a link
	for step := 0; step < maxSteps; step++ {
		fd, err := openat2InRoot(root, p)
		if !errors.Is(err, unix.ENOENT) {
			if err != nil {
				return -1, fmt.Errorf("open %s in rootfs: %w", p, err)
			}
			return fd, nil
		}
		// The first missing component, and the directory that holds it.
		comps := splitPath(p)
		i := 0
		for ; i < len(comps)-1; i++ {
			fd, err := openat2InRoot(root, joinPath(comps[:i+1]))
			if err != nil {
				if !errors.Is(err, unix.ENOENT) {
					return -1, fmt.Errorf("open %s in rootfs: %w", joinPath(comps[:i+1]), err)
				}
				break
			}
			unix.Close(fd)
		}
		if len(comps) == 0 {
			return -1, fmt.Errorf("open rootfs: %w", err)
		}
		parentPath, name, rest := joinPath(comps[:i]), comps[i], comps[i+1:]
		parent, err := openat2InRoot(root, parentPath)
		if err != nil {
			return -1, fmt.Errorf("open %s in rootfs: %w", parentPath, err)
		}
		if target, lerr := readlinkat(parent, name); lerr == nil {
			if !strings.HasPrefix(target, "/") {
				target = parentPath + "/" + target
			}
			p = target + "/" + strings.Join(rest, "/")
			unix.Close(parent)
			continue
		}
		if len(rest) > 0 || dir {
			err = unix.Mkdirat(parent, name, 0o755)
		} else {
			var f int
			f, err = unix.Openat(parent, name, unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
			if err == nil {
				unix.Close(f)
			}
		}
		unix.Close(parent)
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return -1, fmt.Errorf("create %s in rootfs: %w", joinPath(append(comps[:i:i], name)), err)
		}
	}
	return -1, fmt.Errorf("open %s in rootfs: %w", p, unix.ELOOP)
}

func openat2InRoot(root int, p string) (int, error) {
	how := unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS}
	return openat2(root, p, &how)
}

// splitPath splits p into its components, "." and ".." included: the
// kernel resolves those, in root.
func splitPath(p string) []string {
	var out []string
	for _, c := range strings.Split(p, "/") {
		if c != "" {
			out = append(out, c)
		}
	}
	return out
}

func joinPath(comps []string) string { return "/" + strings.Join(comps, "/") }

func readlinkat(dir int, name string) (string, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(dir, name, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// openBeneath opens name under dir without following any symlink or leaving
// dir's mount: for paths inside /proc and /sys, whose layout the kernel owns.
func openBeneath(dir int, name string) (int, error) {
	how := unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC | unix.O_NOFOLLOW,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_XDEV}
	return openat2(dir, name, &how)
}

// openat2 is openat2(2), asked again while the kernel answers EAGAIN, as
// it does when a rename or mount elsewhere raced a ".." that RESOLVE_IN_ROOT
// or RESOLVE_BENEATH resolved (layer.Openat2's twin: this package stays
// free of the store's).
func openat2(dirfd int, path string, how *unix.OpenHow) (int, error) {
	for try := 0; ; try++ {
		fd, err := unix.Openat2(dirfd, path, how)
		if err != unix.EAGAIN || try == 1000 {
			return fd, err
		}
	}
}
