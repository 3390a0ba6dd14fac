package ns

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Docker's default masked and read-only paths (moby oci/defaults.go): kernel
// interfaces that leak host information or let root in the container act on
// the host. A masked file is covered by /dev/null, a masked directory by an
// empty read-only tmpfs.
var (
	maskedProc = []string{"asound", "acpi", "interrupts", "kcore", "keys", "latency_stats",
		"timer_list", "timer_stats", "sched_debug", "scsi"}
	maskedSys    = []string{"firmware", "devices/virtual/powercap"}
	readonlyProc = []string{"bus", "fs", "irq", "sys", "sysrq-trigger"}
)

// maskPaths applies the masks. Every path is opened beneath the fd of the
// container's own /proc or /sys mount with no symlink followed, so the
// rootfs cannot redirect them. Paths this kernel lacks are skipped.
func maskPaths(proc, sys, nodes int) error {
	for _, name := range maskedProc {
		if err := mask(proc, name, nodes); err != nil {
			return fmt.Errorf("mask /proc/%s: %w", name, err)
		}
	}
	for _, name := range maskedSys {
		if err := mask(sys, name, nodes); err != nil {
			return fmt.Errorf("mask /sys/%s: %w", name, err)
		}
	}
	for _, name := range readonlyProc {
		if err := readOnly(proc, name); err != nil {
			return fmt.Errorf("make /proc/%s read-only: %w", name, err)
		}
	}
	return nil
}

func mask(dir int, name string, nodes int) error {
	t, err := openBeneath(dir, name)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return err
	}
	defer unix.Close(t)
	var st unix.Stat_t
	if err := unix.Fstat(t, &st); err != nil {
		return err
	}
	var m int
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		m, err = newFS("tmpfs", unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)
	} else {
		m, err = cloneTree(nodes, "null", false)
	}
	if err != nil {
		return err
	}
	defer unix.Close(m)
	return attach(m, t, "mask")
}

func readOnly(dir int, name string) error {
	t, err := openBeneath(dir, name)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return err
	}
	defer unix.Close(t)
	m, err := cloneTree(t, "", true)
	if err != nil {
		return err
	}
	defer unix.Close(m)
	if err := setAttr(m, unix.MOUNT_ATTR_RDONLY); err != nil {
		return err
	}
	return attach(m, t, "read-only bind")
}
