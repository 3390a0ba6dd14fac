// Package ns is the launcher: it runs a process inside new namespaces with a
// given rootfs directory as its root, or joins the namespaces of a running
// one. It knows nothing of layers or images.
//
// Vocabulary:
//   - parent: the layerctl process that calls Start or Exec.
//   - init step: a re-exec of the layerctl binary that main must hand
//     control to through Init before doing anything else. It runs from a
//     sealed view of /proc/self/exe, made once per process: the binary
//     opened through a read-only overlayfs of its directory that is mounted
//     nowhere (runc 1.2's way, no copy), else a sealed memfd copy, so that
//     the container's processes can never write to the binary (runc
//     CVE-2019-5736): not through the init step's /proc/PID/exe, nor
//     through a user's process that execs /proc/self/exe and so becomes
//     what the init step ran. It sets up the rootfs and then execs the
//     user's process in its own place, so that process is PID 1 of the
//     container.
//   - spec: what to run. It travels to the init step as JSON over an
//     inherited pipe (fd 3), never on argv; fd 4 is a socket on which the
//     parent sends a run's rootfs as a mount after the spec (see Spawn:
//     the init step may be cloned before the rootfs is mounted), and says
//     "go" once BeforeStart (the cgroup placement) has run (the
//     init step sets up the rootfs meanwhile and waits for it just before
//     the user's process starts), and on which the init step reports a
//     failure. Its close on exec tells the
//     parent that the user's process runs.
//   - console socket: with a tty, fd 5 of the init step. The pty is the
//     container's (as with runc's --console-socket): once in the
//     container's root, the init step opens /dev/pts/ptmx of the
//     container's devpts, takes the slave as its stdio (/dev/null until
//     then) and controlling terminal, and sends the master to the parent
//     with SCM_RIGHTS; the parent sets the pty's size and answers "go on",
//     so the process starts with the size of the caller's terminal.
//
// Run: the parent clones the init step into new PID, mount, UTS, IPC and
// (unless Net is "host") network namespaces. The init step makes / private,
// attaches the rootfs mount the parent sent at its path, mounts /proc, /dev, /sys and the volumes with
// the new mount API (fsopen, open_tree, move_mount) onto targets resolved
// inside the rootfs by openat2(RESOLVE_IN_ROOT), masks /proc like Docker,
// pivots into the rootfs (chroot when pivot_root is refused), and then does
// what exec also does: user, working directory, capabilities, fds, execve.
// Root in the container keeps Docker's default capabilities, CAP_MKNOD
// among them; with no device cgroup to stop it, the rootfs, the volumes and
// /dev are mounted nodev and the few device nodes allowed are bind mounts
// of their own, so a node the container makes can never be opened.
//
// Exec: setns(CLONE_NEWNS) is refused to a thread that shares its fs_struct,
// which every thread of a Go process does. The parent therefore joins the
// IPC, UTS, network and PID namespaces on a locked thread and forks the init
// step from it (the PID namespace only applies to children, so the fork must
// happen there); the init step, on its own locked thread, unshares CLONE_FS,
// joins the mount namespace and chroots to the container's root through an
// fd of /proc/PID/root opened by the parent. Threads that joined are never
// unlocked: they end with their goroutine. The container's PID 1 is pinned
// by a pidfd before anything of it is opened, and joined through it
// (setns(pidfd, flags), Linux 5.8; before, /proc/PID/ns fds checked to be
// the pinned process's), so a PID reused meanwhile leads nowhere.
package ns
