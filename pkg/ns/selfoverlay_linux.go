package ns

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/ns/prespawn"
)

// sealedOverlay opens the binary name links to (/proc/self/exe) through an
// overlayfs of its directory that has no upper layer, mounted read-only and
// attached nowhere: the file can be run and read, but a write, chmod, chown
// or xattr through it fails with EROFS, and nothing leads from it back to the
// file on disk (overlayfs gives it a device of its own). It costs a mount
// instead of a copy of the binary. It needs CAP_SYS_ADMIN and the new mount
// API; the caller falls back to sealedCopy.
func sealedOverlay(name string) (int, error) {
	exe, err := os.Readlink(name)
	if err != nil {
		return -1, fmt.Errorf("seal self: %w", err)
	}
	var running unix.Stat_t
	if err := unix.Stat(name, &running); err != nil {
		return -1, fmt.Errorf("seal self: %w", err)
	}
	dir, base := filepath.Split(exe)
	// overlayfs mounts without an upper layer only with two lower ones;
	// the second is an empty dir, gone once mounted.
	empty, err := os.MkdirTemp("", "layerctl-exe-")
	if err != nil {
		return -1, fmt.Errorf("seal self: %w", err)
	}
	defer os.Remove(empty)
	fsfd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("seal self: fsopen overlay: %w", err)
	}
	defer unix.Close(fsfd)
	lower := escapeLowerDir(dir) + ":" + escapeLowerDir(empty)
	if err := unix.FsconfigSetString(fsfd, "lowerdir", lower); err != nil {
		return -1, fmt.Errorf("seal self: overlay lowerdir=%s: %w", lower, err)
	}
	// Not needed, and it would only log about layers on other filesystems.
	_ = unix.FsconfigSetString(fsfd, "xino", "off")
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return -1, fmt.Errorf("seal self: overlay lowerdir=%s: %w", lower, err)
	}
	mnt, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC,
		unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOSUID)
	if err != nil {
		return -1, fmt.Errorf("seal self: fsmount: %w", err)
	}
	defer unix.Close(mnt)
	fd, err := unix.Openat(mnt, base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("seal self: open %s in the overlay: %w", base, err)
	}
	// The very file this process runs, not one renamed over it meanwhile:
	// overlayfs keeps a lower file's inode number.
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG ||
		st.Ino != running.Ino || st.Size != running.Size || st.Mtim != running.Mtim {
		unix.Close(fd)
		return -1, fmt.Errorf("seal self: %s in the overlay is not the running binary", base)
	}
	return prespawn.MoveHigh(fd)
}

// escapeLowerDir escapes the separators of overlayfs's lowerdir option.
func escapeLowerDir(p string) string {
	return strings.NewReplacer(`\`, `\\`, `:`, `\:`).Replace(p)
}
