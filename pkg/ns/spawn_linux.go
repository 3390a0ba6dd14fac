package ns

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// initArg0 names the init step in ps.
const initArg0 = "layerctl-init"

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
	if fi, err := os.Stat(spec.Rootfs); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("start container: rootfs %s is not a directory (%v)", spec.Rootfs, err)
	}
	cmd, err := initCommand(modeRun)
	if err != nil {
		return nil, err
	}
	cmd.SysProcAttr.Cloneflags = cloneFlags(cfg.NewNet)
	con, err := setupIO(cmd, spec.TTY, spec.Stdin, spec.Stdout, spec.Stderr)
	if err != nil {
		return nil, err
	}
	return launch(cmd, cfg, hooks{prepare: spec.Prepare, before: spec.BeforeStart}, con, (*exec.Cmd).Start)
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
		Env:  []string{initEnv + "=" + mode},
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

// launch starts the init step with start, runs prepare (while the init
// step's runtime starts), hands it cfg, runs before (while the init step
// sets up the rootfs), says go, with a tty takes the pty's master and says
// go on, and waits until the init step has exec'd (its end of the sync
// socket closes) or reported a failure.
func launch(cmd *exec.Cmd, cfg *config, h hooks, con *console, start func(*exec.Cmd) error) (*Process, error) {
	cfgR, cfgW, err := os.Pipe()
	if err != nil {
		con.close()
		return nil, fmt.Errorf("start init step: %w", err)
	}
	defer cfgW.Close()
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		cfgR.Close()
		con.close()
		return nil, fmt.Errorf("start init step: socketpair: %w", err)
	}
	parent, child := os.NewFile(uintptr(sp[0]), "sync"), os.NewFile(uintptr(sp[1]), "sync")
	defer parent.Close()
	// configFD, syncFD, consoleFD (closed without a tty), then the mode's.
	cmd.ExtraFiles = append([]*os.File{cfgR, child, con.socket()}, cmd.ExtraFiles...)
	err = start(cmd)
	cfgR.Close()
	child.Close()
	if err != nil {
		con.close()
		return nil, fmt.Errorf("start init step: %w", err)
	}
	con.started()
	p := newProcess(cmd, con)
	fail := func(err error) (*Process, error) {
		p.cmd.Process.Kill()
		p.Wait()
		return nil, err
	}
	if err := handOver(cmd.Process.Pid, parent, cfgW, cfg, h); err != nil {
		var gone initGone
		if !errors.As(err, &gone) {
			return fail(err)
		}
		// The init step may have failed in its setup and said why.
		if msg, _ := io.ReadAll(parent); len(msg) > 0 {
			p.Wait()
			return nil, startError(msg)
		}
		return fail(fmt.Errorf("start init step: %w", err))
	}
	if err := con.connect(); err != nil {
		// No pty: the init step failed before it had one, and said why
		// on the sync socket before it exited, or it hangs.
		p.cmd.Process.Kill()
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
		return fail(fmt.Errorf("start init step: %w", err))
	}
	return p, nil
}

// initGone is a send to the init step that failed: it is gone.
type initGone struct{ err error }

func (e initGone) Error() string { return e.err.Error() }
func (e initGone) Unwrap() error { return e.err }

// handOver runs prepare, sends the init step its config and (run) its
// rootfs, runs before while the init step sets up, and says go.
func handOver(pid int, parent, cfgW *os.File, cfg *config, h hooks) error {
	if h.prepare != nil {
		if err := h.prepare(pid); err != nil {
			return err
		}
	}
	if err := json.NewEncoder(cfgW).Encode(cfg); err != nil {
		return fmt.Errorf("start init step: send config: %w", err)
	}
	cfgW.Close()
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
