package ns

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// setupRootfs prepares the new mount namespace and makes cfg.Rootfs the
// root of the calling process, in order:
//  1. / and everything under it private, so nothing below propagates to
//     the host (the namespace is a copy of the host's, shared mounts
//     included);
//  2. the rootfs attached at its path as the mount the parent sent
//     (attachRootfs): pivot_root needs a mount point, and its fd is the
//     root every later target is resolved in;
//  3. /proc, /dev, /sys, then the volumes and tmpfs mounts, then the masks
//     over /proc and /sys (after the volumes, so no volume can unmask them),
//     then, for --read-only, the root mount read-only;
//  4. pivot_root, or chroot where it is refused.
func setupRootfs(cfg *config) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / private: %w", err)
	}
	if err := attachRootfs(cfg.Rootfs); err != nil {
		return err
	}
	root, err := unix.Open(cfg.Rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open rootfs: %w", err)
	}
	defer unix.Close(root)
	if !cfg.Privileged {
		if err := setAttr(root, unix.MOUNT_ATTR_NODEV); err != nil {
			return fmt.Errorf("rootfs nodev: %w", err)
		}
	}

	proc, err := mountProc(root)
	if err != nil {
		return err
	}
	defer unix.Close(proc)
	dev, nodes, err := mountDev(root, cfg.Privileged)
	if err != nil {
		return err
	}
	defer unix.Close(dev)
	defer unix.Close(nodes)
	sys, err := mountSys(root, cfg.Privileged)
	if err != nil {
		return err
	}
	defer unix.Close(sys)
	for _, v := range cfg.Volumes {
		if err := mountVolume(root, v, cfg.Privileged); err != nil {
			return err
		}
	}
	for _, t := range cfg.Tmpfs {
		if err := mountTmpfs(root, t, cfg.Privileged); err != nil {
			return err
		}
	}
	if !cfg.Privileged {
		if err := maskPaths(proc, sys, nodes); err != nil {
			return err
		}
	}
	// Last, once every mount point the steps above made exists: the root
	// mount alone, not the mounts on it.
	if cfg.ReadOnly {
		attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
		if err := unix.MountSetattr(root, "", unix.AT_EMPTY_PATH, &attr); err != nil {
			return fmt.Errorf("rootfs read-only: %w", err)
		}
	}
	return enterRoot(root, cfg.NoPivot)
}

// mountTmpfs mounts a new tmpfs at its target inside the rootfs: noexec and
// nosuid unless asked (Docker's defaults), nodev as the rootfs.
func mountTmpfs(root int, t Tmpfs, privileged bool) error {
	attrs := 0
	if t.ReadOnly {
		attrs |= unix.MOUNT_ATTR_RDONLY
	}
	if !t.Exec {
		attrs |= unix.MOUNT_ATTR_NOEXEC
	}
	if !t.Suid {
		attrs |= unix.MOUNT_ATTR_NOSUID
	}
	if !privileged {
		attrs |= unix.MOUNT_ATTR_NODEV
	}
	mfd, err := mountAt(root, t.Target, "tmpfs", attrs, t.Options...)
	if err != nil {
		return err
	}
	return unix.Close(mfd)
}

// mountProc mounts a procfs of the new PID namespace at /proc and checks,
// on the fd of the mount itself, that it is one.
func mountProc(root int) (int, error) {
	proc, err := mountAt(root, "/proc", "proc", unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)
	if err != nil {
		return -1, err
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(proc, &st); err != nil || st.Type != unix.PROC_SUPER_MAGIC {
		unix.Close(proc)
		return -1, fmt.Errorf("mount proc on /proc: not a procfs (type %#x, %v)", st.Type, err)
	}
	return proc, nil
}

// mountSys mounts sysfs read-only (read-write when privileged); where a new
// sysfs is refused it binds the host's, read-only.
func mountSys(root int, privileged bool) (int, error) {
	attrs := unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC
	if !privileged {
		attrs |= unix.MOUNT_ATTR_RDONLY
	}
	sys, err := mountAt(root, "/sys", "sysfs", attrs)
	if err == nil || !errors.Is(err, unix.EPERM) {
		return sys, err
	}
	sys, err = cloneTree(unix.AT_FDCWD, "/sys", true)
	if err != nil {
		return -1, fmt.Errorf("bind /sys: %w", err)
	}
	if err := setAttr(sys, unix.MOUNT_ATTR_RDONLY); err != nil {
		unix.Close(sys)
		return -1, fmt.Errorf("bind /sys: %w", err)
	}
	if err := attachIn(root, "/sys", sys, true, "host /sys"); err != nil {
		unix.Close(sys)
		return -1, err
	}
	return sys, nil
}

// mountVolume binds a host path (recursively, as docker -v does) at its
// target inside the rootfs; nodev, as the rootfs (see mountDev).
func mountVolume(root int, v Volume, privileged bool) error {
	what := fmt.Sprintf("volume %s", v.Source)
	src, err := cloneTree(unix.AT_FDCWD, v.Source, true)
	if err != nil {
		return fmt.Errorf("mount %s on %s: %w", what, v.Target, err)
	}
	defer unix.Close(src)
	var st unix.Stat_t
	if err := unix.Fstat(src, &st); err != nil {
		return fmt.Errorf("mount %s on %s: %w", what, v.Target, err)
	}
	attrs := 0
	if v.ReadOnly {
		attrs |= unix.MOUNT_ATTR_RDONLY
	}
	if !privileged {
		attrs |= unix.MOUNT_ATTR_NODEV
	}
	if err := setAttr(src, attrs); err != nil {
		return fmt.Errorf("mount %s on %s: %w", what, v.Target, err)
	}
	return attachIn(root, v.Target, src, st.Mode&unix.S_IFMT == unix.S_IFDIR, what)
}

// enterRoot makes root the process's root. pivot_root(".", ".") stacks the
// old root on the new one, so a lazy unmount of "." removes it and leaves no
// directory behind. pivot_root refuses a rootfs on an initramfs (EINVAL);
// then the rootfs is moved over "/" and chrooted into, which hides the old
// root under it (a process that escapes the chroot still needs
// CAP_SYS_ADMIN to unmount the rootfs and see the host).
func enterRoot(root int, noPivot bool) error {
	if err := unix.Fchdir(root); err != nil {
		return fmt.Errorf("chdir rootfs: %w", err)
	}
	if !noPivot {
		err := unix.PivotRoot(".", ".")
		if err == nil {
			if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
				return fmt.Errorf("detach old root: %w", err)
			}
			return chdirRoot()
		}
		if !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("pivot_root: %w", err)
		}
		fmt.Fprintf(os.Stderr, "layerctl: pivot_root refused (%v): using chroot; the host's root stays mounted beneath the container's\n", err)
	}
	if err := unix.Mount(".", "/", "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("move rootfs to /: %w", err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot: %w", err)
	}
	return chdirRoot()
}

func chdirRoot() error {
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	return nil
}
