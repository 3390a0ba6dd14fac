package ns

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The rootfs travels to the init step as a mount, not as a path: the
// parent clones the mount tree at the rootfs (open_tree with
// OPEN_TREE_CLONE: a detached bind of it) and sends it on the sync socket
// after the config, and the init step attaches it at the same path in its
// own mount namespace. That namespace is a copy of the parent's as it was
// at the clone, so the rootfs need not be mounted then: the parent may
// mount it while the init step's runtime starts (Spec.Prepare).

// rootfsMsg is the byte the tree travels with.
const rootfsMsg = 'r'

// cloneRootfs makes a detached clone of the mount tree at rootfs.
func cloneRootfs(rootfs string) (int, error) {
	tree, err := unix.OpenTree(unix.AT_FDCWD, rootfs, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
	if err != nil {
		return -1, fmt.Errorf("clone the mount of rootfs %s: %w", rootfs, err)
	}
	return tree, nil
}

// sendRootfs sends the init step a tree cloneRootfs made.
func sendRootfs(sock *os.File, tree int) error {
	if err := unix.Sendmsg(int(sock.Fd()), []byte{rootfsMsg}, unix.UnixRights(tree), nil, 0); err != nil {
		return fmt.Errorf("send rootfs: %w", err)
	}
	return nil
}

// attachRootfs receives the tree sendRootfs sent and attaches it at path.
func attachRootfs(path string) error {
	buf, oob := make([]byte, 1), make([]byte, unix.CmsgSpace(4))
	n, oobn, flags, err := rawRecvmsg(syncFD, buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return fmt.Errorf("receive rootfs: %w", err)
	}
	var fds []int
	if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
		for _, m := range msgs {
			if got, err := unix.ParseUnixRights(&m); err == nil {
				fds = append(fds, got...)
			}
		}
	}
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	if n != 1 || buf[0] != rootfsMsg || len(fds) != 1 || flags&unix.MSG_CTRUNC != 0 {
		return errors.New("receive rootfs: no mount from the parent")
	}
	if err := unix.MoveMount(fds[0], "", unix.AT_FDCWD, path, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("attach rootfs at %s: %w", path, err)
	}
	return nil
}

// rawRecvmsg is recvmsg(2) as a raw system call: it waits for the parent's
// mount, as rawRead waits for the config.
func rawRecvmsg(fd int, p, oob []byte, flags int) (n, oobn, recvflags int, err error) {
	iov := unix.Iovec{Base: unsafe.SliceData(p)}
	iov.SetLen(len(p))
	msg := unix.Msghdr{Iov: &iov, Iovlen: 1, Control: unsafe.SliceData(oob)}
	msg.SetControllen(len(oob))
	for {
		r, _, e := unix.RawSyscall(unix.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), uintptr(flags))
		switch e {
		case 0:
			return int(r), int(msg.Controllen), int(msg.Flags), nil
		case unix.EINTR:
		default:
			return 0, 0, 0, e
		}
	}
}
