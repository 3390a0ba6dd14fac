package ns

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/ns/prespawn"
)

// initEnv marks a process as the init step; its value is the mode.
const initEnv = prespawn.EnvName

// The init step's inherited fds.
const (
	configFD  = 3 // the spec, JSON, read to EOF
	syncFD    = 4 // socket: "go" from the parent, a StartError to it
	consoleFD = 5 // tty: socket: the pty's master to the parent, "go on" back
	rootFD    = 6 // exec: the container's root, an fd of /proc/PID/root
	mountFD   = 7 // exec: the container's mount namespace: a pidfd of its PID 1, or its ns/mnt
)

// Init runs the init step when this process is one, and then never returns:
// it execs the container's process or exits. Otherwise it returns at once.
// main must call it first, before flag parsing or anything that starts
// goroutines or opens files; a test binary calls it from TestMain.
func Init() {
	mode := os.Getenv(initEnv)
	if mode == "" {
		return
	}
	switch mode {
	case reaperMode:
		runReaper()
	case childMode:
		runChild()
	}
	// Capabilities, credentials, the fs_struct and the mount namespace
	// joined by exec belong to this thread, and execve happens from it.
	runtime.LockOSThread()
	runInitStep(mode)
}

// InitOnMainThread runs the init step of a run or an exec as Init does, for
// a main package's init function: while packages initialise, the runtime
// keeps the main goroutine on the main thread, so that this one needs no
// LockOSThread, whose first call starts the runtime's template thread (a
// clone the init step's start does without). It returns at once for any
// other process, the reaper's included (Init, from main, runs those).
func InitOnMainThread() {
	if mode := os.Getenv(initEnv); mode == modeRun || mode == modeExec {
		runInitStep(mode)
	}
}

// runInitStep runs the init step on this, a locked thread, and exits with
// its failure.
func runInitStep(mode string) {
	err := initStep(mode)
	if errors.Is(err, errNoConfig) {
		// The parent ended before it sent anything (a refused command
		// line, an interrupt while it started): no one to tell.
		os.Exit(CodeSetup)
	}
	se := &StartError{Code: CodeSetup, Msg: fmt.Sprint(err)}
	errors.As(err, &se)
	if b, jerr := json.Marshal(se); jerr == nil {
		if _, werr := unix.Write(syncFD, b); werr == nil {
			os.Exit(se.Code)
		}
	}
	fmt.Fprintf(os.Stderr, "layerctl: %s\n", se.Msg)
	os.Exit(se.Code)
}

// initStep only returns on failure.
func initStep(mode string) error {
	if mode == modeRun { // an exec's process is no namespace's init: a signal ends it as it would
		dropEarly()
	}
	if !isType(configFD, unix.S_IFIFO) || !isType(syncFD, unix.S_IFSOCK) {
		fmt.Fprintf(os.Stderr, "layerctl: %s is set, but this process was not started as an init step\n", initEnv)
		os.Exit(CodeSetup)
	}
	// Not dumpable: no process of the container can ptrace this one or
	// open its /proc entries while it still holds every capability.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl PR_SET_DUMPABLE: %w", err)
	}
	unix.CloseOnExec(syncFD)
	unix.CloseOnExec(consoleFD)
	cfg, err := readConfig()
	if err != nil {
		return err
	}
	if cfg.Init {
		catchEarly() // for the reaper, which forwards them
		if err := openSelf(); err != nil {
			return err
		}
	}
	if cfg.Mode != mode {
		return fmt.Errorf("init step: mode %q, config for %q", mode, cfg.Mode)
	}
	if cfg.TTY && !isType(consoleFD, unix.S_IFSOCK) {
		return fmt.Errorf("init step: tty, but no console socket")
	}
	// The modes of device nodes and dirs made here are exact.
	unix.Umask(0)
	switch mode {
	case modeRun:
		if err := setupRootfs(cfg); err != nil {
			return err
		}
		if cfg.Hostname != "" {
			if err := unix.Sethostname([]byte(cfg.Hostname)); err != nil {
				return fmt.Errorf("sethostname: %w", err)
			}
		}
		if cfg.NewNet {
			if err := loopbackUp(); err != nil {
				return err
			}
		}
	case modeExec:
		if err := joinMountNS(); err != nil {
			return err
		}
	default:
		return fmt.Errorf("init step: unknown mode %q", mode)
	}
	return execProcess(cfg)
}

// awaitGo waits for the parent's go. The setup is this binary's own work;
// only the user's process must not start before BeforeStart placed this
// one in the container's cgroup (and recorded it). Waiting just before the
// execve lets all of the setup overlap the parent's cgroup writes (several
// ms each on v1) and its record's fsync. EOF means the parent is gone or
// gave up.
func awaitGo() {
	var b [1]byte
	if n, err := rawRead(syncFD, b[:]); n != 1 {
		fmt.Fprintf(os.Stderr, "layerctl: init step: no go from the parent (%v)\n", err)
		os.Exit(CodeSetup)
	}
}

func isType(fd int, typ uint32) bool {
	var st unix.Stat_t
	return unix.Fstat(fd, &st) == nil && st.Mode&unix.S_IFMT == typ
}

// maxConfig bounds the config the init step reads.
const maxConfig = 16 << 20

// errNoConfig is a config pipe closed empty: the parent is gone.
var errNoConfig = errors.New("init step: no config from the parent")

func readConfig() (*config, error) {
	defer unix.Close(configFD)
	var data []byte
	for buf := make([]byte, 16<<10); ; {
		n, err := rawRead(configFD, buf)
		if err != nil {
			return nil, fmt.Errorf("init step: read config: %w", err)
		}
		if n == 0 && len(data) == 0 {
			return nil, errNoConfig
		}
		if n == 0 {
			break
		}
		if data = append(data, buf[:n]...); len(data) > maxConfig {
			return nil, fmt.Errorf("init step: read config: more than %d bytes", maxConfig)
		}
	}
	cfg, err := decodeConfig(data)
	if err != nil {
		return nil, fmt.Errorf("init step: read config: %w", err)
	}
	return cfg, nil
}

// rawRead is read(2) without the scheduler's bookkeeping of a system call.
// The init step's reads wait for its parent; in a Go read, the runtime
// would hand the process's one P over to a thread it starts (sysmon takes
// back a P held in a system call for more than 20 µs) that finds nothing
// to run: clones and wakeups, in a start that counts them. Nothing else of
// the init step runs meanwhile.
func rawRead(fd int, b []byte) (int, error) {
	for {
		n, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
		switch e {
		case 0:
			return int(n), nil
		case unix.EINTR:
		default:
			return 0, e
		}
	}
}

// joinMountNS enters the container's mount namespace and root. setns
// refuses CLONE_NEWNS to a thread sharing its fs_struct with others, so this
// thread gets its own first; it is locked and execs, so it never runs
// anything else.
func joinMountNS() error {
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("unshare CLONE_FS: %w", err)
	}
	if err := unix.Setns(mountFD, unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("setns mnt: %w", err)
	}
	// The container's root may be a chroot inside its namespace: take the
	// root of its init, not the namespace's.
	if err := unix.Fchdir(rootFD); err != nil {
		return fmt.Errorf("chdir to the container's root: %w", err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot to the container's root: %w", err)
	}
	unix.Close(rootFD)
	unix.Close(mountFD)
	return chdirRoot()
}
