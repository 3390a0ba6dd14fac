package ns

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// joined are the namespaces the parent's forking thread joins; the mount
// namespace is joined by the init step itself (see doc.go).
var joined = []struct {
	name string
	flag int
}{
	{"ipc", unix.CLONE_NEWIPC},
	{"uts", unix.CLONE_NEWUTS},
	{"net", unix.CLONE_NEWNET},
	{"pid", unix.CLONE_NEWPID}, // for children only: the init step
}

// execWaitDelay bounds how long Wait copies output after the process
// exited, when something it started in the background keeps its pipes.
const execWaitDelay = time.Second

// Exec starts a process in the running container whose init (its PID 1, as
// the caller sees it) is pid: same namespaces, same root, the same rules
// for env, working directory, user, capabilities, fds and tty as Start.
// With spec.PidStart set, a pid that names another process by now (the
// container's ended, its pid was reused) is an error, and nothing is joined.
func Exec(pid int, spec ExecSpec) (*Process, error) {
	cfg, err := spec.config()
	if err != nil {
		return nil, err
	}
	tg, err := openTarget(pid, spec.PidStart)
	if err != nil {
		return nil, err
	}
	defer tg.close()
	cmd, err := initCommand(modeExec)
	if err != nil {
		return nil, err
	}
	cmd.ExtraFiles = []*os.File{tg.root, tg.mnt} // rootFD, mountFD after config, sync and console
	cmd.WaitDelay = execWaitDelay
	con, err := setupIO(cmd, spec.TTY, spec.Stdin, spec.Stdout, spec.Stderr)
	if err != nil {
		return nil, err
	}
	start := func(cmd *exec.Cmd) error { return startJoined(cmd, tg) }
	return launch(cmd, cfg, hooks{before: spec.BeforeStart}, con, start)
}

// startJoined forks cmd from a thread that joined the namespaces of tg.
// The thread stays locked and ends with its goroutine, so no other goroutine
// ever runs in the container's namespaces. It also goes back to its own
// namespaces first: the main thread, when it is the one, does not end but
// is parked for good by the runtime, and must not stay parked in there.
func startJoined(cmd *exec.Cmd, tg *target) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked
		var own []int
		defer func() {
			for i := len(own) - 1; i >= 0; i-- {
				unix.Setns(own[i], joined[i].flag)
				unix.Close(own[i])
			}
		}()
		for _, n := range joined {
			name := n.name
			if n.flag == unix.CLONE_NEWPID {
				name = "pid_for_children"
			}
			fd, err := unix.Open("/proc/thread-self/ns/"+name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				errc <- fmt.Errorf("open own %s namespace: %w", n.name, err)
				return
			}
			own = append(own, fd)
		}
		if err := tg.join(); err != nil {
			errc <- err
			return
		}
		errc <- cmd.Start()
	}()
	return <-errc
}
