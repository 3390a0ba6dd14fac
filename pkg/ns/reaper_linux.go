package ns

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
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

// initEnv's values in the reaper and in its child before the user's
// process is exec'd.
const (
	reaperMode = "reaper"
	childMode  = "child"
)

// selfFD is the init step's own program, opened while the host's /proc is
// still there, for an --init container.
var selfFD = -1

// pendingEnv carries to the reaper the signals the init step got for the
// container's process: it forwards them once the child runs.
const pendingEnv = "_LAYERCTL_NS_PENDING"

// early holds the signals sent to the init step of an --init container
// once it has its config, before the user's process runs: the reaper gets
// them. Caught, the Go runtime does not take a SIGTERM for its own end (as
// PID 1 it would exit with code 2).
var early chan os.Signal

// catchEarly starts catching the signals a container's process would get.
func catchEarly() {
	early = make(chan os.Signal, 32)
	signal.Notify(early, forwardable()...)
}

// dropEarly gives the signals a container's process would get their
// default action, which the kernel never takes for a namespace's init: it
// drops them (pid_namespaces(7)), where the Go runtime's handlers would end
// the init step (exit 2). A default action passes through execve as it is.
// Raw rt_sigaction calls take some 60 µs where signal.Notify, which starts
// the runtime's signal machinery, takes about 2 ms in a fresh process.
func dropEarly() {
	var dfl [4]uint64 // struct sigaction: SIG_DFL, no flags, no mask
	for _, sig := range forwardable() {
		unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig.(syscall.Signal)), uintptr(unsafe.Pointer(&dfl)), 0, 8, 0, 0)
	}
}

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
	empty, _ := syscall.BytePtrFromString("")
	// From here signals wait, blocked, until the reaper is ready for them.
	// The mask passes through execve; the child clears it (runChild).
	var all unix.Sigset_t
	for i := range all.Val {
		all.Val[i] = ^all.Val[i]
	}
	unix.PthreadSigmask(unix.SIG_SETMASK, &all, nil)
	var pending []string
	for drained := false; !drained; {
		select {
		case sig := <-early:
			if !notForwarded[sig] {
				pending = append(pending, strconv.Itoa(int(sig.(syscall.Signal))))
			}
		default:
			drained = true
		}
	}
	envv := append(append([]string(nil), env...), initEnv+"="+reaperMode, pendingEnv+"="+strings.Join(pending, ","))
	argvp, err := syscall.SlicePtrFromStrings(argv)
	if err != nil {
		return err
	}
	envp, err := syscall.SlicePtrFromStrings(envv)
	if err != nil {
		return err
	}
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

// forwardable lists the signals the reaper passes on.
func forwardable() []os.Signal {
	var sigs []os.Signal
	for n := syscall.Signal(1); n < 65; n++ {
		if n != syscall.SIGKILL && n != syscall.SIGSTOP && !notForwarded[n] {
			sigs = append(sigs, n)
		}
	}
	return sigs
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
	pid, err := startChild(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "layerctl-init: %v\n", err)
		os.Exit(CodeSetup)
	}
	for _, n := range strings.Split(os.Getenv(pendingEnv), ",") {
		if sig, err := strconv.Atoi(n); err == nil {
			unix.Kill(pid, syscall.Signal(sig))
		}
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
// the terminal, not again from the reaper). It starts as this program in
// childMode, which clears the signal mask it inherits (Go's fork restores
// the mask the reaper started with: everything blocked) and execs the
// process.
func startChild(args []string) (int, error) {
	env := append(userEnv(), initEnv+"="+childMode)
	sys := &syscall.SysProcAttr{Setpgid: true}
	for fd := 0; fd <= 2; fd++ {
		if _, err := unix.IoctlGetTermios(fd, unix.TCGETS); err == nil {
			sys.Foreground, sys.Ctty = true, fd
			break
		}
	}
	return syscall.ForkExec("/proc/self/exe", args, &syscall.ProcAttr{Env: env, Files: []uintptr{0, 1, 2}, Sys: sys})
}

// userEnv is this process's environment without initEnv.
func userEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, initEnv+"=") && !strings.HasPrefix(kv, pendingEnv+"=") {
			env = append(env, kv)
		}
	}
	return env
}

// runChild execs the user's process (argv: layerctl-init EXE -- ARGS...)
// with no signal blocked. It never returns.
func runChild() {
	var none unix.Sigset_t
	unix.PthreadSigmask(unix.SIG_SETMASK, &none, nil)
	args := os.Args
	if len(args) < 4 || args[2] != "--" {
		os.Exit(CodeSetup)
	}
	err := unix.Exec(args[1], args[3:], userEnv())
	fmt.Fprintf(os.Stderr, "layerctl: %s\n", startErrorFor(args[3], err).Msg)
	os.Exit(startErrorFor(args[3], err).Code)
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
