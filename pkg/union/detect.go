package union

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/whiteout"
)

// Driver names.
const (
	Overlay = "overlay"
	AUFS    = "aufs"
	VFS     = "vfs"
)

// Features is what the kernel offers, read once from /proc and /sys.
type Features struct {
	Overlay        bool
	AUFS           bool
	OverlayOptions map[string]bool // parameters under /sys/module/overlay/parameters
	Kernel         string
}

// Detect probes the running kernel.
func Detect() Features {
	f := Features{OverlayOptions: map[string]bool{}}
	if fs, err := os.Open("/proc/filesystems"); err == nil {
		sc := bufio.NewScanner(fs)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			switch fields[len(fields)-1] {
			case "overlay":
				f.Overlay = true
			case "aufs":
				f.AUFS = true
			}
		}
		fs.Close()
	}
	if entries, err := os.ReadDir("/sys/module/overlay/parameters"); err == nil {
		for _, e := range entries {
			f.OverlayOptions[e.Name()] = true
		}
	}
	var uts unix.Utsname
	if unix.Uname(&uts) == nil {
		f.Kernel = unix.ByteSliceToString(uts.Release[:])
	}
	return f
}

// Default is the driver a new store gets: overlay, else aufs, else vfs.
func (f Features) Default() string {
	switch {
	case f.Overlay:
		return Overlay
	case f.AUFS:
		return AUFS
	}
	return VFS
}

// WhiteoutFormat is the native whiteout form a driver's layers are stored in.
func WhiteoutFormat(driver string) (whiteout.Format, error) {
	switch driver {
	case Overlay:
		if os.Geteuid() != 0 {
			return whiteout.FormatOverlayUser, nil
		}
		return whiteout.FormatOverlay, nil
	case AUFS, VFS:
		return whiteout.FormatFiles, nil
	}
	return "", fmt.Errorf("unknown driver %q (want overlay, aufs or vfs)", driver)
}

// ErrUnavailable is the category of a driver the running kernel lacks.
var ErrUnavailable = errors.New("not available on this kernel")

// Supported tells whether the kernel can run a driver, and if not, what to do.
func (f Features) Supported(driver string) error {
	switch driver {
	case Overlay:
		if !f.Overlay {
			return fmt.Errorf("overlay driver: overlayfs is %w (not in /proc/filesystems): modprobe overlay, or use --driver vfs", ErrUnavailable)
		}
	case AUFS:
		if !f.AUFS {
			return fmt.Errorf("aufs driver: aufs is %w (not in /proc/filesystems; mainline Linux has no aufs): use --driver overlay or --driver vfs", ErrUnavailable)
		}
	case VFS:
	default:
		return fmt.Errorf("unknown driver %q (want overlay, aufs or vfs)", driver)
	}
	return nil
}

// ErrNoDType marks a store refused because its filesystem does not report
// file types in directory entries, without which overlayfs misbehaves
// (whiteouts and opaque dirs go unseen).
var ErrNoDType = errors.New("no d_type")

// CheckBacking refuses a driver that the filesystem under dir cannot carry:
// overlay needs d_type.
func CheckBacking(driver, dir string) error {
	if driver != Overlay {
		return nil
	}
	fsType, dType, err := Backing(dir)
	if err != nil {
		return fmt.Errorf("check the filesystem of %s: %w", dir, err)
	}
	if !dType {
		return fmt.Errorf("%s is on %s without d_type (%w), which overlay needs: use a filesystem with d_type (ext4 with filetype, xfs with ftype=1) or --driver vfs", dir, fsType, ErrNoDType)
	}
	return nil
}

// Backing describes the filesystem under a directory: its type and whether
// it reports file types in directory entries (d_type), which overlay needs.
func Backing(dir string) (fsType string, dType bool, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return "", false, err
	}
	fsType = fsNames[int64(st.Type)]
	if fsType == "" {
		fsType = fmt.Sprintf("0x%x", st.Type)
	}
	dType, err = supportsDType(dir)
	return fsType, dType, err
}

var fsNames = map[int64]string{
	unix.EXT4_SUPER_MAGIC: "ext4", unix.XFS_SUPER_MAGIC: "xfs", unix.BTRFS_SUPER_MAGIC: "btrfs",
	unix.TMPFS_MAGIC: "tmpfs", unix.OVERLAYFS_SUPER_MAGIC: "overlayfs", 0x2fc12fc1: "zfs",
}

// supportsDType reads the directory's own entries and checks that "." comes
// back with a type, as overlayfs requires of its layers' filesystem.
func supportsDType(dir string) (bool, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, err
	}
	defer unix.Close(fd)
	buf := make([]byte, 4096)
	n, err := unix.Getdents(fd, buf)
	if err != nil {
		return false, err
	}
	for off := 0; off < n; {
		reclen := int(buf[off+16]) | int(buf[off+17])<<8
		typ := buf[off+18]
		if typ == unix.DT_UNKNOWN {
			return false, nil
		}
		off += reclen
	}
	return true, nil
}
