package ns

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// devices are the nodes of a container's /dev, as Docker gives them.
var devices = []struct {
	name         string
	major, minor uint32
}{
	{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7},
	{"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
}

var devLinks = []struct{ name, target string }{
	{"ptmx", "pts/ptmx"},
	{"fd", "/proc/self/fd"},
	{"stdin", "/proc/self/fd/0"},
	{"stdout", "/proc/self/fd/1"},
	{"stderr", "/proc/self/fd/2"},
	{"core", "/proc/kcore"},
}

// mountDev mounts a fresh tmpfs on /dev and fills it: device nodes, a
// devpts instance of the container's own (so its ptys are not the host's),
// /dev/shm and /dev/mqueue.
//
// Nothing in the container may open a device node it makes itself: root in
// it keeps CAP_MKNOD (Docker's default set) and a node for the host's disk
// would hand it the disk whether or not a device cgroup exists. So /dev,
// like the rootfs and the volumes, is nodev, and each allowed node is a
// bind mount of its own from nodes, a detached tmpfs without nodev that
// no path leads to. mountDev returns the fds of /dev and of nodes.
func mountDev(root int, privileged bool) (dev, nodes int, err error) {
	nodes, err = newFS("tmpfs", unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NOEXEC, "mode=755", "size=4k")
	if err != nil {
		return -1, -1, fmt.Errorf("mount tmpfs for device nodes: %w", err)
	}
	for _, d := range devices {
		if err := unix.Mknodat(nodes, d.name, unix.S_IFCHR|0o666, int(unix.Mkdev(d.major, d.minor))); err != nil {
			unix.Close(nodes)
			return -1, -1, fmt.Errorf("mknod /dev/%s: %w", d.name, err)
		}
	}
	attrs := unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_STRICTATIME
	if !privileged {
		attrs |= unix.MOUNT_ATTR_NODEV
	}
	dev, err = newFS("tmpfs", attrs, "mode=755", "size=65536k")
	if err != nil {
		unix.Close(nodes)
		return -1, -1, fmt.Errorf("mount tmpfs on /dev: %w", err)
	}
	// Attached first: mounts go onto attached trees only.
	err = attachIn(root, "/dev", dev, true, "tmpfs")
	if err == nil {
		err = fillDev(dev, nodes)
	}
	if err != nil {
		unix.Close(dev)
		unix.Close(nodes)
		return -1, -1, err
	}
	return dev, nodes, nil
}

func fillDev(dev, nodes int) error {
	for _, d := range devices {
		node, err := cloneTree(nodes, d.name, false)
		if err == nil {
			err = attachIn(dev, d.name, node, false, "/dev/"+d.name)
			unix.Close(node)
		}
		if err != nil {
			return fmt.Errorf("bind /dev/%s: %w", d.name, err)
		}
	}
	for _, l := range devLinks {
		if err := unix.Symlinkat(l.target, dev, l.name); err != nil {
			return fmt.Errorf("symlink /dev/%s: %w", l.name, err)
		}
	}
	subs := []struct {
		name, fstype string
		attrs        int
		opts         []string
	}{
		// A process's pty comes from here (see setupConsole).
		{"pts", "devpts", unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NOEXEC,
			[]string{"newinstance", "ptmxmode=0666", fmt.Sprintf("mode=%#o", ttyMode), fmt.Sprintf("gid=%d", ttyGID)}},
		{"shm", "tmpfs", unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC,
			[]string{"mode=1777", "size=65536k"}},
		{"mqueue", "mqueue", unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC, nil},
	}
	for _, s := range subs {
		mfd, err := mountAt(dev, s.name, s.fstype, s.attrs, s.opts...)
		if err != nil {
			return fmt.Errorf("/dev: %w", err)
		}
		unix.Close(mfd)
	}
	return nil
}
