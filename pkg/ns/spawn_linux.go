package ns

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/ns/prespawn"
)

// initArg0 names the init step in ps.
const initArg0 = prespawn.Arg0

// cloneFlags are the namespaces a run creates.
func cloneFlags(newNet bool) uintptr {
	f := uintptr(unix.CLONE_NEWPID | unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC)
	if newNet {
		f |= unix.CLONE_NEWNET
	}
	return f
}

// Start starts a container: it returns once the spec's process runs (or
// failed to start: a *StartError carries the exit code a CLI should use).
// Wait may be called later, from any goroutine.
func Start(spec Spec) (*Process, error) {
	cfg, err := spec.config()
	if err != nil {
		return nil, err
	}
	if err := checkRootfs(spec.Rootfs); err != nil {
		return nil, err
	}
	sp, err := Spawn(spec.launch())
	if err != nil {
		return nil, err
	}
	return sp.start(spec, cfg)
}

// launch is what Spawn needs of spec.
func (spec *Spec) launch() Launch {
	return Launch{Net: spec.Net, TTY: spec.TTY, Stdin: spec.Stdin, Stdout: spec.Stdout, Stderr: spec.Stderr}
}

func checkRootfs(rootfs string) error {
	if fi, err := os.Stat(rootfs); err != nil || !fi.IsDir() {
		return fmt.Errorf("start container: rootfs %s is not a directory (%v)", rootfs, err)
	}
	return nil
}

// Run starts a container, forwards this process's signals to it and waits
// for it: the exit code is the process's own, or 128+n when signal n
// killed it.
func Run(spec Spec) (int, error) {
	p, err := Start(spec)
	if err != nil {
		return 0, err
	}
	p.ForwardSignals()
	return p.Wait()
}

func initCommand(mode string) (*exec.Cmd, error) {
	// Every init step runs from the sealed copy, a run's too: the user's
	// process may exec /proc/self/exe, which is then whatever the init
	// step ran, and hand it to the rest of the container as /proc/1/exe
	// (runc CVE-2019-5736).
	exe, err := selfPath()
	if err != nil {
		return nil, err
	}
	return &exec.Cmd{
		Path: exe,
		Args: []string{initArg0},
		// One P: the init step runs one goroutine on a locked thread, and
		// every thread the runtime starts for more is one its execve of the
		// user's process must stop first (about 1 ms a run here). The
		// user's process gets the spec's environment, not this one.
		Env: []string{initEnv + "=" + mode, prespawn.EnvProcs},
		// A session of its own: the caller's terminal sends its ^C and
		// hangup to the caller, which forwards what it chooses, and not
		// also straight to the container.
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}, nil
}

// setupIO connects the process's stdio: without tty, directly except for
// the caller's terminal, which is relayed (relayTerminals); with tty,
// through a pty the init step opens in the container and sends back, its
// stdio being /dev/null until then.
func setupIO(cmd *exec.Cmd, tty bool, stdin io.Reader, stdout, stderr io.Writer) (*console, error) {
	if !tty {
		return relayTerminals(cmd, stdin, stdout, stderr)
	}
	return newConsole(stdin, stdout)
}

// hooks are the caller's steps in a launch, each given the init step's pid
// (see Spec.Prepare and Spec.BeforeStart); nil ones are skipped.
type hooks struct {
	prepare, before func(pid int) error
}

// launch starts the init step with start and hands it cfg (finish).
func launch(cmd *exec.Cmd, cfg *config, h hooks, con *console, start func(*exec.Cmd) error) (*Process, error) {
	sp, err := spawn(cmd, con, start)
	if err != nil {
		return nil, err
	}
	return sp.finish(cfg, h)
}

// Spawned is an init step started ahead of its spec (Spawn): in its new
// namespaces, its runtime starting, waiting for its config.
type Spawned struct {
	p            *Process
	parent, cfgW *os.File // the sync socket; the config pipe
	newNet, tty  bool
	used         bool
	early        bool // started as this process began (package prespawn)
}

// Launch is what Spawn needs of a Spec: its namespaces and its stdio.
type Launch struct {
	Net            string
	TTY            bool
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// Spawn starts a container's init step before its spec is known, so that
// its start overlaps the caller's work (making the container); Start on
// the result goes on from there, Abort ends it.
func Spawn(l Launch) (*Spawned, error) {
	newNet, err := netNamespace(l.Net)
	if err != nil {
		return nil, err
	}
	if sp := adoptPrespawned(l, newNet); sp != nil {
		return sp, nil
	}
	cmd, err := initCommand(modeRun)
	if err != nil {
		return nil, err
	}
	cmd.SysProcAttr.Cloneflags = cloneFlags(newNet)
	con, err := setupIO(cmd, l.TTY, l.Stdin, l.Stdout, l.Stderr)
	if err != nil {
		return nil, err
	}
	sp, err := spawn(cmd, con, (*exec.Cmd).Start)
	if err != nil {
		return nil, err
	}
	sp.newNet, sp.tty = newNet, l.TTY
	return sp, nil
}

// Pid is the init step's pid.
func (sp *Spawned) Pid() int { return sp.p.Pid() }

// Early tells an init step started as this process began, before its
// packages were initialised (package prespawn).
func (sp *Spawned) Early() bool { return sp.early }

// Start hands the init step spec and returns as the package's Start does.
// The network, tty and stdio are the Launch's: spec's are not looked at.
func (sp *Spawned) Start(spec Spec) (*Process, error) {
	if sp.used {
		return nil, errors.New("start container: the spawned init step was used already")
	}
	cfg, err := spec.config()
	if err == nil {
		err = checkRootfs(spec.Rootfs)
	}
	if err != nil {
		sp.Abort()
		return nil, err
	}
	return sp.start(spec, cfg)
}

func (sp *Spawned) start(spec Spec, cfg *config) (*Process, error) {
	cfg.NewNet, cfg.TTY = sp.newNet, sp.tty
	return sp.finish(cfg, hooks{prepare: spec.Prepare, before: spec.BeforeStart})
}

// Abort kills the init step and waits for it; a no-op once Start ran.
func (sp *Spawned) Abort() {
	if sp.used {
		return
	}
	sp.used = true
	sp.p.kill()
	sp.p.Wait()
	sp.parent.Close()
	sp.cfgW.Close()
}

// spawn starts the init step with start, with its config pipe and sync
// socket (and console) as its fds.
func spawn(cmd *exec.Cmd, con *console, start func(*exec.Cmd) error) (*Spawned, error) {
	cfgR, cfgW, err := os.Pipe()
	if err != nil {
		con.close()
		return nil, fmt.Errorf("start init step: %w", err)
	}
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		cfgR.Close()
		cfgW.Close()
		con.close()
		return nil, fmt.Errorf("start init step: socketpair: %w", err)
	}
	parent, child := os.NewFile(uintptr(sp[0]), "sync"), os.NewFile(uintptr(sp[1]), "sync")
	// configFD, syncFD, consoleFD (closed without a tty), then the mode's.
	cmd.ExtraFiles = append([]*os.File{cfgR, child, con.socket()}, cmd.ExtraFiles...)
	err = start(cmd)
	cfgR.Close()
	child.Close()
	if err != nil {
		parent.Close()
		cfgW.Close()
		con.close()
		return nil, fmt.Errorf("start init step: %w", err)
	}
	con.started()
	return &Spawned{p: newProcess(cmd, con), parent: parent, cfgW: cfgW}, nil
}

// finish runs prepare (while the init step's runtime starts), hands the
// init step cfg, runs before (while it sets up the rootfs), says go, with a
// tty takes the pty's master and says go on, and waits until the init step
// has exec'd (its end of the sync socket closes) or reported a failure.
func (sp *Spawned) finish(cfg *config, h hooks) (*Process, error) {
	sp.used = true
	defer sp.parent.Close()
	defer sp.cfgW.Close()
	p, parent := sp.p, sp.parent
	fail := func(err error) (*Process, error) {
		p.kill()
		p.Wait()
		return nil, err
	}
	// A run's init step gone without a word was killed while it set up:
	// the caller's record names it from BeforeStart on, so a kill, stop or
	// rm of the container reaches it. Its end is the container's then.
	gone := func(err error) (*Process, error) {
		if !p.exitsWithin(time.Second) {
			return fail(fmt.Errorf("start init step: %w", err))
		}
		if p.Wait(); cfg.Mode == modeRun && p.signaled() {
			return p, nil
		}
		return nil, fmt.Errorf("start init step: %w", err)
	}
	if err := handOver(p.Pid(), parent, sp.cfgW, cfg, h); err != nil {
		var ig initGone
		if !errors.As(err, &ig) {
			return fail(err)
		}
		// The init step may have failed in its setup and said why.
		if msg, _ := io.ReadAll(parent); len(msg) > 0 {
			p.Wait()
			return nil, startError(msg)
		}
		return gone(err)
	}
	if err := p.con.connect(); err != nil {
		// No pty: the init step failed before it had one, and said why
		// on the sync socket before it exited, or it hangs.
		p.kill()
		if msg, _ := io.ReadAll(parent); len(msg) > 0 {
			p.Wait()
			return nil, startError(msg)
		}
		return fail(fmt.Errorf("start init step: %w", err))
	}
	// An init step that failed before it read the go closes the socket
	// with the go unread, which resets it: the read returns the reason it
	// wrote, then ECONNRESET. The reason is what the caller must see.
	msg, err := io.ReadAll(parent)
	if len(msg) > 0 {
		p.Wait()
		return nil, startError(msg)
	}
	if err != nil {
		return gone(err) // reset: it closed the socket by its end, not its exec
	}
	return p, nil
}

// initGone is a send to the init step that failed: it is gone.
type initGone struct{ err error }

func (e initGone) Error() string { return e.err.Error() }
func (e initGone) Unwrap() error { return e.err }

// handOver sends the init step its config, runs prepare while the init
// step reads it, sends (run) its rootfs, runs before while the init step
// sets up, and says go.
func handOver(pid int, parent, cfgW *os.File, cfg *config, h hooks) error {
	data, err := cfg.encode()
	if err != nil {
		return fmt.Errorf("start init step: config: %w", err)
	}
	if _, err := cfgW.Write(data); err != nil {
		return initGone{fmt.Errorf("send config: %w", err)}
	}
	cfgW.Close()
	if h.prepare != nil {
		if err := h.prepare(pid); err != nil {
			return err
		}
	}
	if cfg.Mode == modeRun {
		tree, err := cloneRootfs(cfg.Rootfs)
		if err != nil {
			return fmt.Errorf("start init step: %w", err)
		}
		err = sendRootfs(parent, tree)
		unix.Close(tree)
		if err != nil {
			return initGone{err}
		}
	}
	if h.before != nil {
		if err := h.before(pid); err != nil {
			return fmt.Errorf("before start: %w", err)
		}
	}
	if _, err := parent.Write([]byte{'g'}); err != nil {
		return initGone{err}
	}
	return nil
}

// startError decodes the failure the init step reported.
func startError(msg []byte) *StartError {
	se := &StartError{Code: CodeSetup}
	if err := json.Unmarshal(msg, se); err != nil {
		se.Msg = string(msg)
	}
	return se
}
