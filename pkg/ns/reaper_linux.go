package ns

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// With Spec.Init the container's PID 1 is not the user's process but a
// small init of this program's own (tini's job, as docker run --init): it
// starts the process as its child, passes on every signal it gets, reaps
// whatever is re-parented to it, and exits as the child does. A process
// such as sh or sleep ignores SIGTERM and SIGINT as PID 1 (the kernel
// drops signals PID 1 has no handler for); as a child it gets them.
//
// The init step execs it from the very file it runs from (a sealed memfd,
// or the read-only view of the binary), opened before the rootfs is
// entered, as the last step in place of the user's process: the reaper
// has the user's credentials, capabilities and seccomp filter.

// reaperMode is initEnv's value in the reaper.
const reaperMode = "reaper"

// selfFD is the init step's own program, opened while the host's /proc is
// still there, for an --init container.
var selfFD = -1

// openSelf keeps an fd of the program the init step runs from.
func openSelf() error {
	fd, err := unix.Open("/proc/self/exe", unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("init: open the init program: %w", err)
	}
	selfFD = fd
	return nil
}

// execReaper replaces the init step with the reaper, which starts exe with
// args and env. It returns only on failure.
func execReaper(exe string, args, env []string) error {
	argv := append([]string{"layerctl-init", exe, "--"}, args...)
	envv := append(append([]string(nil), env...), initEnv+"="+reaperMode)
	argvp, err := syscall.SlicePtrFromStrings(argv)
	if err != nil {
		return err
	}
	envp, err := syscall.SlicePtrFromStrings(envv)
	if err != nil {
		return err
	}
	empty, _ := syscall.BytePtrFromString("")
	_, _, errno := unix.RawSyscall6(unix.SYS_EXECVEAT, uintptr(selfFD), uintptr(unsafe.Pointer(empty)),
		uintptr(unsafe.Pointer(&argvp[0])), uintptr(unsafe.Pointer(&envp[0])), unix.AT_EMPTY_PATH, 0)
	return &StartError{Code: CodeSetup, Msg: fmt.Sprintf("exec the init: %v", errno)}
}

// notForwarded are the signals the reaper keeps: those of a fault of its
// own, the Go runtime's preemption signal, SIGCHLD (it reaps), and the
// terminal's stop signals for background reads and writes.
var notForwarded = map[os.Signal]bool{
	syscall.SIGFPE: true, syscall.SIGILL: true, syscall.SIGSEGV: true, syscall.SIGBUS: true,
	syscall.SIGABRT: true, syscall.SIGTRAP: true, syscall.SIGSYS: true, syscall.SIGURG: true,
	syscall.SIGCHLD: true, syscall.SIGTTIN: true, syscall.SIGTTOU: true, syscall.SIGPIPE: true,
}

// runReaper is the reaper (argv: layerctl-init EXE -- ARGS...). It never
// returns.
func runReaper() {
	args := os.Args
	if len(args) < 4 || args[2] != "--" {
		fmt.Fprintln(os.Stderr, "layerctl-init: bad reaper arguments")
		os.Exit(CodeSetup)
	}
	sigs := make(chan os.Signal, 64)
	signal.Notify(sigs) // before the child starts: nothing is missed
	signal.Ignore(syscall.SIGTTOU, syscall.SIGTTIN)
	pid, err := startChild(args[1], args[3:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "layerctl-init: %v\n", err)
		os.Exit(startErrorFor(args[3], err).Code)
	}
	for sig := range sigs {
		if sig != syscall.SIGCHLD {
			if !notForwarded[sig] {
				unix.Kill(pid, sig.(syscall.Signal))
			}
			continue
		}
		if code, done := reap(pid); done {
			os.Exit(code)
		}
	}
}

// startChild starts the user's process in a process group of its own, in
// the terminal's foreground when there is one (so ^C reaches it once, from
// the terminal, not again from the reaper).
func startChild(exe string, args []string) (int, error) {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, initEnv+"=") {
			env = append(env, kv)
		}
	}
	sys := &syscall.SysProcAttr{Setpgid: true}
	for fd := 0; fd <= 2; fd++ {
		if _, err := unix.IoctlGetTermios(fd, unix.TCGETS); err == nil {
			sys.Foreground, sys.Ctty = true, fd
			break
		}
	}
	return syscall.ForkExec(exe, args, &syscall.ProcAttr{Env: env, Files: []uintptr{0, 1, 2}, Sys: sys})
}

// reap collects every ended process; done when one is the child, with its
// exit code (128+signal when killed).
func reap(child int) (code int, done bool) {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || pid <= 0 {
			return 0, false
		}
		if pid == child {
			if ws.Signaled() {
				return 128 + int(ws.Signal()), true
			}
			return ws.ExitStatus(), true
		}
	}
}
