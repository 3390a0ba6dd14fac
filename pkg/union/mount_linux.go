package union

import (
	"errors"
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// Perform carries out a mount description at target. It is the only place
// that mounts.
func Perform(m Mount, target string) error {
	var err error
	switch {
	case m.Type == "bind":
		err = unix.Mount(m.Source, target, "", unix.MS_BIND, "")
	case len(m.Lowers) > 0:
		err = mountNewAPI(m, target)
	case m.Dir != "":
		err = mountFrom(m.Dir, m, target)
	default:
		err = unix.Mount(m.Source, target, m.Type, 0, m.Data())
	}
	if err != nil {
		return fmt.Errorf("mount %s on %s: %w", m, target, err)
	}
	for _, br := range m.Append {
		if err := unix.Mount("none", target, m.Type, unix.MS_REMOUNT, br); err != nil {
			unix.Unmount(target, unix.MNT_DETACH)
			return fmt.Errorf("remount %s on %s with %q: %w", m.Type, target, br, err)
		}
	}
	return nil
}

// mountFrom mounts with dir as the working directory, on a thread of its own
// (unshare CLONE_FS), so relative option names resolve there without
// changing the process's directory. The thread is dropped afterwards.
func mountFrom(dir string, m Mount, target string) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with this goroutine
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			errc <- fmt.Errorf("unshare CLONE_FS: %w", err)
			return
		}
		if err := unix.Chdir(dir); err != nil {
			errc <- err
			return
		}
		errc <- unix.Mount(m.Source, target, m.Type, 0, m.Data())
	}()
	return <-errc
}

// mountNewAPI mounts overlay through fsopen/fsconfig, one "lowerdir+" per
// layer (Documentation/filesystems/overlayfs.rst, "Specifying layers").
func mountNewAPI(m Mount, target string) error {
	fd, err := unix.Fsopen(m.Type, unix.FSOPEN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("fsopen: %w", err)
	}
	defer unix.Close(fd)
	set := func(key, value string) error {
		if err := unix.FsconfigSetString(fd, key, value); err != nil {
			return fmt.Errorf("fsconfig %s=%s: %w", key, value, err)
		}
		return nil
	}
	if err := set("source", m.Source); err != nil {
		return err
	}
	for _, l := range m.Lowers {
		if err := set("lowerdir+", l); err != nil {
			return err
		}
	}
	for _, opt := range m.Options {
		key, value, _ := strings.Cut(opt, "=")
		if err := set(key, value); err != nil {
			return err
		}
	}
	if err := unix.FsconfigCreate(fd); err != nil {
		return fmt.Errorf("fsconfig create: %w", err)
	}
	mfd, err := unix.Fsmount(fd, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("fsmount: %w", err)
	}
	defer unix.Close(mfd)
	if err := unix.MoveMount(mfd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("move_mount: %w", err)
	}
	return nil
}

// Unmount removes the mount at target; a target with nothing mounted is fine.
func Unmount(target string) error {
	err := unix.Unmount(target, 0)
	if err == nil || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
		return nil
	}
	return fmt.Errorf("unmount %s: %w", target, err)
}

// Mounted reports whether target is a mount point (listed in /proc/self/mountinfo).
func Mounted(target string) bool {
	var st, parent unix.Stat_t
	if unix.Lstat(target, &st) != nil || unix.Lstat(target+"/..", &parent) != nil {
		return false
	}
	// An overlay mount has its own device; st_dev differs from the parent's.
	return st.Dev != parent.Dev
}
