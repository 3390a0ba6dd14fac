package prespawn

import (
	"sync/atomic"
	"syscall"
	"unsafe"
)

// Step is an init step this package started, in its namespaces, its
// runtime starting, waiting for its config. Its fds are close-on-exec.
type Step struct {
	Pid     int
	Config  int     // the write end of its config pipe (its fd 3)
	Sync    int     // the parent's end of its sync socket (its fd 4)
	Reading Reading // the command line it was started for
	// Relays: for stdout and stderr, the read end of the pipe given to the
	// step in place of this process's terminal, which the parent copies to
	// it; -1 where the step got this process's own fd.
	Relays [2]int
}

var (
	started atomic.Pointer[Step]
	done    = make(chan struct{}) // closed once the step started, or will not
)

// Take returns the step started for this process, once; nil when none was.
// It waits for the start, if one is under way.
func Take() *Step {
	<-done
	return started.Swap(nil)
}

// Starting tells whether this process starts an init step as it began (or
// started one): Take then has it, unless the start failed.
func Starting() bool { return starting }

var starting bool

// storeRoot is the store this process's command line names, read as the
// process started; "" for none read (an init step, a build without an
// embedded program).
var storeRoot string

// storeCacheDir is the init programs' cache dir of storeRoot; "" for none.
func storeCacheDir() string {
	if storeRoot == "" {
		return ""
	}
	return CacheDir(storeRoot)
}

func init() {
	r, ok := wanted()
	if !ok {
		close(done)
		return
	}
	starting = true
	// On a thread of its own: the copy of the program and the clone (the
	// calling thread waits until the child's execve) overlap the
	// initialisation of the other packages.
	go func() {
		defer close(done)
		if s, err := start(r); err == nil {
			started.Store(s)
		}
	}()
}

// wanted reads this process's command line: ok for a run whose init step
// this package can start. It notes the store the line names (storeRoot).
func wanted() (Reading, bool) {
	if len(Program) == 0 {
		return Reading{}, false
	}
	if _, set := syscall.Getenv(EnvName); set {
		return Reading{}, false // an init step itself
	}
	var buf [2048]byte // on the stack: a heap slice would cost every command fresh pages
	cmdline, ok := readFile("/proc/self/cmdline", buf[:0])
	if !ok {
		return Reading{}, false
	}
	args := splitNUL(cmdline)
	if len(args) < 2 {
		return Reading{}, false
	}
	storeRoot = ReadRoot(args[1:])
	r, ok := ReadRun(args[1:])
	if !ok || r.Detach || r.TTY || (r.Net != netNone && r.Net != "host") {
		return Reading{}, false
	}
	if r.Interactive && isTerminal(0) {
		return Reading{}, false // its input goes through a relay the parent sets up
	}
	return r, true
}

// start starts the init step of a run read as r: as pkg/ns's spawn would,
// with Go's os package and its once-a-process pidfd probe still to come.
func start(r Reading) (*Step, error) {
	prog, err := SealedProgram()
	if err != nil {
		return nil, err
	}
	var opened []int // closed on return: the step holds its copies
	defer func() {
		for _, fd := range opened {
			syscall.Close(fd)
		}
	}()
	s := &Step{Pid: -1, Config: -1, Sync: -1, Reading: r, Relays: [2]int{-1, -1}}
	fail := func(err error) (*Step, error) {
		for _, fd := range []int{s.Config, s.Sync, s.Relays[0], s.Relays[1]} {
			if fd >= 0 {
				syscall.Close(fd)
			}
		}
		return nil, err
	}
	stdin := 0
	if !r.Interactive {
		if stdin, err = syscall.Open("/dev/null", syscall.O_RDONLY|syscall.O_CLOEXEC, 0); err != nil {
			return fail(err)
		}
		opened = append(opened, stdin)
	}
	out := [2]int{1, 2}
	for i := range out {
		if !isTerminal(out[i]) {
			continue
		}
		var p [2]int
		if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
			return fail(err)
		}
		s.Relays[i], out[i] = p[0], p[1]
		opened = append(opened, p[1])
	}
	var cfg [2]int
	if err := syscall.Pipe2(cfg[:], syscall.O_CLOEXEC); err != nil {
		return fail(err)
	}
	s.Config = cfg[1]
	opened = append(opened, cfg[0])
	sync, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return fail(err)
	}
	s.Sync = sync[0]
	opened = append(opened, sync[1])
	flags := uintptr(syscall.CLONE_NEWPID | syscall.CLONE_NEWNS | syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC)
	if r.Net == netNone {
		flags |= syscall.CLONE_NEWNET
	}
	const noFD = ^uintptr(0) // closed in the step: the console's, without a tty
	s.Pid, err = syscall.ForkExec(fdPath(prog), []string{Arg0}, &syscall.ProcAttr{
		Env: []string{EnvName + "=" + ModeRun, EnvProcs},
		// stdio, then the config pipe, the sync socket and the console.
		Files: []uintptr{uintptr(stdin), uintptr(out[0]), uintptr(out[1]), uintptr(cfg[0]), uintptr(sync[1]), noFD},
		// A session of its own: the caller's terminal sends its ^C and
		// hangup to the caller, which forwards what it chooses.
		Sys: &syscall.SysProcAttr{Setsid: true, Cloneflags: flags},
	})
	if err != nil {
		return fail(err)
	}
	return s, nil
}

// fdPath is /proc/self/fd/FD: execve opens the file before it closes the
// close-on-exec fds, so the memfd stays close-on-exec and never reaches
// the step.
func fdPath(fd int) string {
	digits := ""
	for ; fd >= 10; fd /= 10 {
		digits = string(rune('0'+fd%10)) + digits
	}
	return "/proc/self/fd/" + string(rune('0'+fd)) + digits
}

// isTerminal tells an fd open on a terminal.
func isTerminal(fd int) bool {
	var t syscall.Termios
	_, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.TCGETS, uintptr(unsafe.Pointer(&t)))
	return e == 0
}

// splitNUL splits /proc/self/cmdline into its arguments.
func splitNUL(b []byte) []string {
	var out []string
	for len(b) > 0 {
		var arg []byte
		arg, b = cutByte(b, 0)
		out = append(out, string(arg))
	}
	return out
}
