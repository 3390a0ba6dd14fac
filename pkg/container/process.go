package container

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/layerctl/layerctl/pkg/cgroup"
	"github.com/layerctl/layerctl/pkg/ns"
)

// ErrNotRunning marks a command that needs a running container.
var ErrNotRunning = errors.New("not running")

// Refresh settles the record of a container whose process ended while no
// layerctl process watched it (its monitor was killed): the cgroup goes,
// the rootfs is released, the state says exited. A container that a dead
// commit left frozen is thawed.
func (c *Store) Refresh(s State) (State, error) {
	s, err := c.settleFreeze(s)
	if err != nil {
		return s, err
	}
	if s.Pid == 0 || c.alive(s) {
		return s, nil
	}
	c.release(s, -1)
	return c.Get(s.ID)
}

// release removes a finished container's cgroup and records its end.
func (c *Store) release(s State, code int) error {
	if cg, err := cgroup.Open(s.ID); err == nil {
		cg.Kill()
		cg.Remove()
	}
	return c.finish(s.ID, s.Pid, code)
}

// Kill sends a signal to a running container's process.
func (c *Store) Kill(ref string, sig syscall.Signal) (State, error) {
	s, err := c.running(ref)
	if err != nil {
		return s, err
	}
	if s.Paused {
		return s, fmt.Errorf("container %s: %w", s.Name, ErrPaused)
	}
	if err := syscall.Kill(s.Pid, sig); err != nil {
		return s, fmt.Errorf("signal container %s: %w", s.Name, err)
	}
	return s, nil
}

// DefaultStopTimeout is how long Stop waits before SIGKILL when neither the
// caller nor the container (--stop-timeout) says.
const DefaultStopTimeout = 10 * time.Second

// Stop asks a running container's process to end (SIGTERM, or its
// --stop-signal, or its image's StopSignal), kills everything in its cgroup
// after timeout (< 0: its --stop-timeout, else DefaultStopTimeout), and
// waits for it. A container that is not running is left as it is.
func (c *Store) Stop(ref string, timeout time.Duration) (State, error) {
	s, err := c.Resolve(ref)
	if err != nil {
		return s, err
	}
	if s, err = c.settleFreeze(s); err != nil {
		return s, err
	}
	if !c.alive(s) {
		_, err := c.Refresh(s)
		return s, err
	}
	if s.Paused {
		return s, fmt.Errorf("container %s: %w", s.Name, ErrPaused)
	}
	return c.stop(s, timeout)
}

// stop is Stop of a running container, paused or not (rm -f's): a frozen
// process takes its signals once the cgroup kill thaws it.
func (c *Store) stop(s State, timeout time.Duration) (State, error) {
	sig := syscall.SIGTERM
	stopSignal := ""
	if cfg, err := c.imageConfig(s); err == nil {
		stopSignal = cfg.StopSignal
	}
	if s.Run != nil && s.Run.StopSignal != "" {
		stopSignal = s.Run.StopSignal
	}
	if timeout < 0 {
		timeout = DefaultStopTimeout
		if s.Run != nil && s.Run.StopTimeout != nil {
			timeout = time.Duration(*s.Run.StopTimeout) * time.Second
		}
	}
	if n, ok := signalByName(stopSignal); ok {
		sig = n
	}
	syscall.Kill(s.Pid, sig)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	err := ns.WaitPid(ctx, s.Pid)
	cancel()
	if err != nil {
		if cg, cerr := cgroup.Open(s.ID); cerr == nil {
			cg.Kill()
		}
		syscall.Kill(s.Pid, syscall.SIGKILL)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := ns.WaitPid(ctx, s.Pid); err != nil {
			return s, fmt.Errorf("stop container %s: pid %d outlived SIGKILL: %w", s.Name, s.Pid, err)
		}
	}
	// The monitor, when there is one, records the exit code; release is
	// done once, by whoever comes first.
	return s, c.release(s, -1)
}

// ExecOptions describe a process started in a running container.
type ExecOptions struct {
	Args       []string
	Env        []string
	WorkingDir string
	User       string
	TTY        bool
	Privileged bool
	Stdio
}

// Exec starts a process in a running container's namespaces and cgroup,
// with the image's Env, WorkingDir and User unless overridden.
func (c *Store) Exec(ref string, o ExecOptions) (*ns.Process, error) {
	ns.Warm() // the init step's sealed program, made while the container is checked
	c.keepInitProgram()
	// A process joining a frozen cgroup would wait for a thaw that no one
	// sends when its freezer died: running settles them.
	s, err := c.running(ref)
	if err != nil {
		return nil, err
	}
	if s.Paused {
		return nil, fmt.Errorf("container %s: %w", s.Name, ErrPaused)
	}
	cfg, err := c.imageConfig(s)
	if err != nil {
		return nil, err
	}
	env := cfg.Env
	if s.Run != nil {
		env = mergeEnv(env, s.Run.Env)
	}
	spec := ns.ExecSpec{
		Args: o.Args, Env: mergeEnv(env, o.Env), WorkingDir: o.WorkingDir, User: o.User,
		TTY: o.TTY, Privileged: o.Privileged || s.Run != nil && s.Run.Privileged,
		Stdin: o.Stdin, Stdout: o.Stdout, Stderr: o.Stderr,
	}
	// The container's filter and capabilities, whatever this exec's
	// privileges (as docker exec): no filter for a privileged container.
	if s.Run != nil {
		spec.Seccomp, spec.NoNewPrivileges = s.Run.Seccomp, s.Run.NoNewPrivileges
		spec.Seccomp.Unconfined = spec.Seccomp.Unconfined || s.Run.Privileged
		if spec.Caps, err = ns.Capabilities(s.Run.CapAdd, s.Run.CapDrop); err != nil {
			return nil, err
		}
		spec.Rlimits, spec.GroupAdd = s.Run.Ulimits, s.Run.GroupAdd
	}
	if spec.WorkingDir == "" {
		spec.WorkingDir = cfg.WorkingDir
	}
	if spec.User == "" {
		spec.User = cfg.User
	}
	// Nothing runs unlimited: without the container's cgroup, no exec.
	cg, err := cgroup.Open(s.ID)
	if err != nil {
		return nil, fmt.Errorf("join cgroup: %w", err)
	}
	spec.BeforeStart = cg.Add
	spec.PidStart = s.PidStart
	return ns.Exec(s.Pid, spec)
}

// removeCgroup removes container id's cgroup, with whatever runs in it
// (force), when it is still there: a run killed before it recorded its
// process leaves one that no record names, found by the ID it is named
// after.
func removeCgroup(id string, force bool) error {
	cg, err := cgroup.Open(id)
	if err != nil {
		return nil // none, or no cgroups on this machine
	}
	if procs, _ := cg.Procs(); len(procs) > 0 && !force {
		return fmt.Errorf("container %s has processes in its cgroup: %w (use -f)", id, ErrContainerInUse)
	}
	cg.Kill()
	if err := cg.Remove(); err != nil {
		return fmt.Errorf("remove container %s: %w", id, err)
	}
	return nil
}

// signalByName reads a signal as an image's STOPSIGNAL or kill -s names it.
func signalByName(name string) (syscall.Signal, bool) {
	sig, err := ns.ParseSignal(name)
	return sig, err == nil
}

// SignalByName is signalByName for the CLI.
func SignalByName(name string) (syscall.Signal, error) {
	if sig, ok := signalByName(name); ok {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", name)
}
