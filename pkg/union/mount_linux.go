package union

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// Perform carries out a mount description at target. It is the only place
// that mounts.
func Perform(m Mount, target string) error {
	if err := clearVolatile(m); err != nil {
		return err
	}
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
		// The data can be pages long: name the branch that is missing
		// instead, when one is.
		return fmt.Errorf("mount %s on %s: %w%s", m.Type, target, err, missingBranch(m))
	}
	for _, br := range m.Append {
		if err := unix.Mount("none", target, m.Type, unix.MS_REMOUNT, br); err != nil {
			unix.Unmount(target, unix.MNT_DETACH)
			return fmt.Errorf("remount %s on %s with %q: %w", m.Type, target, br, err)
		}
	}
	return nil
}

// clearVolatile removes the mark a volatile overlay leaves in its workdir
// when unmounted (work/incompat/volatile), without which the kernel refuses
// to mount the same upper dir again: a throwaway container's rootfs
// mounted for cp before its run. Its upper dir may miss writes only after
// a crash, and nothing reads a throwaway upper dir after one.
func clearVolatile(m Mount) error {
	if m.Type != "overlay" || !slices.Contains(m.Options, "volatile") {
		return nil
	}
	for _, o := range m.Options {
		if work, ok := strings.CutPrefix(o, "workdir="); ok {
			if !filepath.IsAbs(work) {
				work = filepath.Join(m.Dir, work)
			}
			if err := os.RemoveAll(filepath.Join(work, "work", "incompat", "volatile")); err != nil {
				return fmt.Errorf("clear volatile overlay mark: %w", err)
			}
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
		key, value, hasValue := strings.Cut(opt, "=")
		if !hasValue {
			// A flag such as "volatile" takes no value: fsconfig refuses
			// it as an empty string.
			if err := unix.FsconfigSetFlag(fd, key); err != nil {
				return fmt.Errorf("fsconfig %s: %w", key, err)
			}
			continue
		}
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

// UnmountDetached detaches the mount at target now and frees it once the
// last fd of a file under it closes (MNT_DETACH).
func UnmountDetached(target string) error {
	err := unix.Unmount(target, unix.MNT_DETACH)
	if err == nil || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
		return nil
	}
	return fmt.Errorf("unmount %s: %w", target, err)
}

// Mounted reports whether target is a mount point. statx tells it directly
// (STATX_ATTR_MOUNT_ROOT, kernel 5.8+); comparing st_dev with the parent's
// would miss a bind mount from the same filesystem, which is what the vfs
// driver makes. Older kernels fall back to the calling thread's mountinfo.
func Mounted(target string) bool {
	var stx unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, target, unix.AT_SYMLINK_NOFOLLOW, 0, &stx); err != nil {
		return false
	}
	if stx.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT != 0 {
		return stx.Attributes&unix.STATX_ATTR_MOUNT_ROOT != 0
	}
	return inMountinfo(target)
}

// inMountinfo looks for target among the mount points the calling thread
// sees.
func inMountinfo(target string) bool {
	found, err := ThreadMounts(mountinfo.SingleEntryFilter(target))
	return err == nil && len(found) > 0
}

// ThreadMounts lists the mounts of the calling thread's mount namespace
// (/proc/thread-self/mountinfo: a mount namespace is per thread, and
// /proc/self would show the main thread's) that filter keeps.
func ThreadMounts(filter mountinfo.FilterFunc) ([]*mountinfo.Info, error) {
	f, err := os.Open("/proc/thread-self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return mountinfo.GetMountsFromReader(f, filter)
}

// missingBranch names the first branch directory of m that does not exist,
// as " (missing: PATH)", or "".
func missingBranch(m Mount) string {
	paths := append([]string(nil), m.Lowers...)
	for _, opt := range m.Options {
		key, value, _ := strings.Cut(opt, "=")
		switch key {
		case "lowerdir":
			paths = append(paths, strings.Split(value, ":")...)
		case "upperdir", "workdir":
			paths = append(paths, value)
		case "br":
			for _, br := range strings.Split(value, ":") {
				dir, _, _ := strings.Cut(br, "=")
				paths = append(paths, dir)
			}
		}
	}
	for _, p := range paths {
		if !filepath.IsAbs(p) && m.Dir != "" {
			p = filepath.Join(m.Dir, p)
		}
		if _, err := os.Stat(p); err != nil {
			return " (missing: " + p + ")"
		}
	}
	return ""
}
