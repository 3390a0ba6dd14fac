package container

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/layerctl/layerctl/pkg/cgroup"
	"github.com/layerctl/layerctl/pkg/layer"
	"github.com/layerctl/layerctl/pkg/ns"
	"github.com/layerctl/layerctl/pkg/union"
)

// RunConfig is how a container's process is started, kept in its record so
// a detached container's monitor and later commands know it.
type RunConfig struct {
	Cmd         []string          `json:"cmd,omitempty"`        // overrides the image's Cmd
	Entrypoint  *string           `json:"entrypoint,omitempty"` // overrides the image's Entrypoint
	Env         []string          `json:"env,omitempty"`        // added to the image's Env
	WorkingDir  string            `json:"workingDir,omitempty"`
	User        string            `json:"user,omitempty"`
	Volumes     []ns.Volume       `json:"volumes,omitempty"`
	Tmpfs       []ns.Tmpfs        `json:"tmpfs,omitempty"`
	ReadOnly    bool              `json:"readOnly,omitempty"` // --read-only: the rootfs, not its mounts
	Net         string            `json:"net,omitempty"`
	Limits      cgroup.Limits     `json:"limits"`
	TTY         bool              `json:"tty,omitempty"`
	Privileged  bool              `json:"privileged,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`      // --label: over the image's labels
	CapAdd      []string          `json:"capAdd,omitempty"`      // --cap-add, as given
	CapDrop     []string          `json:"capDrop,omitempty"`     // --cap-drop, as given
	Ulimits     []ns.Rlimit       `json:"ulimits,omitempty"`     // --ulimit
	GroupAdd    []string          `json:"groupAdd,omitempty"`    // --group-add
	StopSignal  string            `json:"stopSignal,omitempty"`  // --stop-signal: over the image's StopSignal
	StopTimeout *int              `json:"stopTimeout,omitempty"` // --stop-timeout, in seconds
	Remove      bool              `json:"remove,omitempty"`      // --rm
	Init        bool              `json:"init,omitempty"`        // --init: a reaper and signal forwarder as PID 1
	// Seccomp and NoNewPrivileges hold for the container's process and
	// every exec into it.
	Seccomp         ns.Seccomp `json:"seccomp,omitzero"`
	NoNewPrivileges bool       `json:"noNewPrivileges,omitempty"`
}

// Stdio connects a started process.
type Stdio struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Flush, when set, is called once all the process's output has been
	// written to Stdout and Stderr, before its end is recorded.
	Flush func() error
}

// Running is a started container process of this layerctl process.
type Running struct {
	c     *Store
	state State
	proc  *ns.Process
	cg    *cgroup.Cgroup
	flush func() error
	// reclaimed closes when the trash this start found is deleted: done
	// while the container's process starts and runs, off its path.
	reclaimed <-chan struct{}
}

// Pid is the container process's host PID.
func (r *Running) Pid() int { return r.proc.Pid() }

// ForwardSignals passes this process's signals on to the container's.
func (r *Running) ForwardSignals() { r.proc.ForwardSignals() }

// HoldSignals keeps the signals ForwardSignals passes on from now until a
// Running's ForwardSignals, so that none ends this process meanwhile.
func HoldSignals() { ns.HoldSignals() }

// ErrOOM marks a container process the kernel killed for its memory limit.
var ErrOOM = errors.New("out of memory")

// Start mounts a container's rootfs, makes its cgroup and starts its
// process (the image's Entrypoint and Cmd, as overridden by its RunConfig).
// Nothing runs before the process is in its cgroup. On error everything it
// made is undone, and a container whose RunConfig asks for Remove is
// removed.
func (c *Store) Start(ref string, stdio Stdio) (*Running, error) {
	ns.Warm() // the init step's sealed program, made while the rootfs is readied
	return c.start(ref, stdio, nil)
}

// StartSpawned is Start with an init step Spawn started for the container
// (its stdio is the Spawn's). One spawned for other namespaces or another
// terminal, or whose spawn failed, is ended, and Start starts another.
func (c *Store) StartSpawned(ref string, sp *Spawned) (*Running, error) {
	return c.start(ref, sp.stdio, sp)
}

// keepInitProgram has the store keep the embedded init program, which the
// next init steps then run without copying it (ns.SaveProgram): once per
// store and layerctl build, a stat after that. A failure costs speed only.
func (c *Store) keepInitProgram() {
	if err := ns.SaveProgram(c.Root(), c.layers.Paths().Tmp()); err != nil {
		slog.Debug("the init program is copied at each start", "err", err)
	}
}

// start is Start, with sp (nil: none) as the init step.
func (c *Store) start(ref string, stdio Stdio, sp *Spawned) (_ *Running, err error) {
	defer func() {
		if err != nil && sp != nil {
			sp.Abort()
		}
	}()
	c.keepInitProgram()
	s, err := c.Resolve(ref)
	if err != nil {
		return nil, err
	}
	if c.alive(s) {
		return nil, fmt.Errorf("container %s is running already (pid %d)", s.Name, s.Pid)
	}
	s = c.awaitRecorded(s) // a restart: the last run's watcher is done first
	defer func() {
		if err != nil && s.Run != nil && s.Run.Remove {
			c.Remove(s.ID, true)
		}
	}()
	cfg, rc, args, err := c.command(s)
	if err != nil {
		return nil, err
	}
	caps, err := ns.Capabilities(rc.CapAdd, rc.CapDrop)
	if err != nil {
		return nil, err
	}
	st := &starting{c: c, prev: s}
	defer func() {
		if err != nil {
			st.undo()
		}
	}()
	reclaimed := c.reclaimTrashAsync()
	defer func() {
		if err != nil {
			<-reclaimed
		}
	}()
	proc, err := sp.start(ns.Spec{
		Rootfs: c.MergedDir(s.ID), Hostname: s.Hostname, Volumes: rc.Volumes, Tmpfs: rc.Tmpfs, ReadOnly: rc.ReadOnly,
		Net: rc.Net, Args: args,
		Env:        mergeEnv(cfg.Env, rc.Env),
		WorkingDir: cmp.Or(rc.WorkingDir, cfg.WorkingDir), User: cmp.Or(rc.User, cfg.User),
		Privileged: rc.Privileged, Caps: caps, Rlimits: rc.Ulimits, GroupAdd: rc.GroupAdd, TTY: rc.TTY, Seccomp: rc.Seccomp, NoNewPrivileges: rc.NoNewPrivileges, Init: rc.Init,
		Stdin: stdio.Stdin, Stdout: stdio.Stdout, Stderr: stdio.Stderr,
		// The rootfs and the cgroup are made while the init step's runtime
		// starts; the init step gets the rootfs's mount with its config,
		// whatever its mount namespace, copied at the clone, shows. Only
		// the mount comes before the config: the cgroup, and the record
		// (an fsync) once the rootfs is mounted, are made beside the config's
		// send and the init step's setup, and waited for before the
		// process may start.
		Prepare: func(pid int) error { return st.prepare(pid, rc.Limits) },
		BeforeStart: func(pid int) error {
			// The first attach to a v1 hierarchy waits for an RCU grace
			// period: beside the record's fsync.
			cg, err := st.cgroup()
			if err == nil {
				err = cg.Add(pid)
			}
			return errors.Join(err, st.recorded())
		},
	})
	if err != nil {
		return nil, err
	}
	return &Running{c: c, state: *st.started, proc: proc, cg: st.cg, flush: stdio.Flush, reclaimed: reclaimed}, nil
}

// starting is what a Start has made so far, undone when it fails.
type starting struct {
	c              *Store
	prev           State // the container's record before the start
	mounted, fresh bool  // its rootfs was mounted; by this start
	// made in the background by prepare: done when closed
	cgDone, recDone chan struct{}
	cg              *cgroup.Cgroup
	cgErr, recErr   error
	started         *State // its record once the process is in it
}

// prepare makes the cgroup in the background, mounts the rootfs, and then
// records pid as the container's process in the background (the mount is
// counted with it, in the record's one write): cgroup and recorded wait.
func (st *starting) prepare(pid int, limits cgroup.Limits) error {
	st.cgDone = make(chan struct{})
	go func() {
		defer close(st.cgDone)
		st.cg, st.cgErr = newCgroup(st.prev.ID, limits)
	}()
	var err error
	if st.fresh, err = st.c.mountForStart(st.prev); err != nil {
		return err
	}
	st.mounted = true
	st.recDone = make(chan struct{})
	go func() {
		defer close(st.recDone)
		rec, err := st.c.recordStarted(st.prev.ID, pid, st.fresh)
		if st.recErr = err; err == nil {
			st.started = &rec
		}
	}()
	return nil
}

// cgroup is the cgroup prepare made, once made.
func (st *starting) cgroup() (*cgroup.Cgroup, error) {
	if st.cgDone == nil {
		return nil, errors.New("cgroup: not prepared")
	}
	<-st.cgDone
	return st.cg, st.cgErr
}

// recorded waits for prepare's record of the process.
func (st *starting) recorded() error {
	if st.recDone == nil {
		return errors.New("record: not prepared")
	}
	<-st.recDone
	return st.recErr
}

func (st *starting) undo() {
	if st.cgDone != nil {
		<-st.cgDone
	}
	if st.recDone != nil {
		<-st.recDone
	}
	if st.cg != nil {
		st.cg.Kill()
		st.cg.Remove()
	}
	if st.mounted {
		st.c.abortStart(st.prev, st.fresh, st.started != nil)
	}
}

// mountForStart mounts container s's rootfs for Start, or finds it mounted
// (fresh is false then); recordStarted counts it.
func (c *Store) mountForStart(s State) (fresh bool, err error) {
	err = c.locked(func() error {
		_, fresh, err = c.mountLocked(s)
		return err
	})
	return fresh, err
}

// abortStart undoes what a failed Start did to container prev's record and
// rootfs: the process it recorded (recorded) and the mount it counted, or
// the mount it made that nothing counts yet (fresh).
func (c *Store) abortStart(prev State, fresh, recorded bool) error {
	return c.locked(func() error {
		s, err := c.Get(prev.ID)
		if err != nil {
			return err
		}
		if recorded {
			s.Pid, s.PidStart, s.Started, s.ExitCode = prev.Pid, prev.PidStart, prev.Started, prev.ExitCode
			s.MountCount--
		}
		if s.MountCount <= 0 && (recorded || fresh) {
			s.MountCount = 0
			if err := union.Unmount(c.MergedDir(s.ID)); err != nil {
				return err
			}
		}
		if !recorded {
			return nil
		}
		return c.put(s)
	})
}

// command is what Start runs in container s: its image's config, its run
// config and the argv they make.
func (c *Store) command(s State) (*v1.Config, *RunConfig, []string, error) {
	cfg, err := c.imageConfig(s)
	if err != nil {
		return nil, nil, nil, err
	}
	rc := s.Run
	if rc == nil {
		rc = &RunConfig{}
	}
	args := ns.Command(cfg.Entrypoint, cfg.Cmd, rc.Cmd, rc.Entrypoint)
	if len(args) == 0 {
		return nil, nil, nil, &ns.StartError{Code: ns.CodeSetup, Msg: "no command: the image has no Entrypoint or Cmd and none was given"}
	}
	return cfg, rc, args, nil
}

// recordStarted records pid as container id's process, with its start time
// (which tells it from a later process of the same PID), and counts the
// mount Start made (fresh) or found. A mount or umount by another command
// since then shows in the count read here.
func (c *Store) recordStarted(id string, pid int, fresh bool) (State, error) {
	start, _ := ns.StartTime(pid)
	var s State
	err := c.locked(func() error {
		cur, err := c.Get(id)
		if err != nil {
			return err
		}
		if !union.Mounted(c.MergedDir(id)) {
			return fmt.Errorf("container %s: its rootfs was unmounted while it started", cur.Name)
		}
		cur.MountCount = countAfterMount(cur.MountCount, fresh)
		cur.Pid, cur.PidStart, cur.Started, cur.ExitCode = pid, start, time.Now().UTC(), nil
		s = cur
		return c.put(cur)
	})
	return s, err
}

// newCgroup makes a container's cgroup, replacing one left by a container
// that died with its monitor.
func newCgroup(id string, limits cgroup.Limits) (*cgroup.Cgroup, error) {
	cg, err := cgroup.Create(id, limits)
	if errors.Is(err, cgroup.ErrExists) {
		if old, oerr := cgroup.Open(id); oerr == nil {
			old.Kill()
			old.Remove()
		}
		cg, err = cgroup.Create(id, limits)
	}
	if err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	return cg, nil
}

// Wait waits for the process to end, then removes its cgroup, unmounts the
// rootfs and records the exit code; with --rm the container goes instead
// (into the trash: see discard). The code is the process's own, or
// 128+signal; an OOM kill is 137 with ErrOOM.
func (r *Running) Wait() (int, error) {
	code, werr := r.proc.Wait()
	if r.flush != nil {
		werr = errors.Join(werr, r.flush())
	}
	oom := r.oomKilled(code)
	// Whatever the process left behind died with its PID namespace before
	// it was reaped; a kill (a freeze and thaw on v1) is only needed for
	// what still holds the cgroup.
	if r.cg.RemoveEmpty() != nil {
		r.cg.Kill()
		r.cg.Remove()
	}
	var err error
	if r.state.Run != nil && r.state.Run.Remove {
		r.c.noteExit(r.state.ID, code)
		err = r.c.discard(r.state.ID)
	} else {
		err = r.c.finish(r.state.ID, r.proc.Pid(), code)
	}
	if err != nil && werr == nil {
		werr = err
	}
	if werr == nil && oom {
		werr = fmt.Errorf("container %s was killed: %w", r.state.Name, ErrOOM)
	}
	<-r.reclaimed
	return code, werr
}

// oomKilled tells whether the OOM killer killed a process of the
// container. Only a memory limit makes the container's own OOM kills;
// without one, just a process killed by SIGKILL may have been the system's
// victim.
func (r *Running) oomKilled(code int) bool {
	limited := r.state.Run != nil && r.state.Run.Limits.Memory > 0
	if !limited && code != 128+int(syscall.SIGKILL) {
		return false
	}
	oom, _ := r.cg.OOMKilled()
	return oom
}

// finish records that the process pid ended with code and releases the
// rootfs: once, whoever sees it first (the monitor, stop, rm).
func (c *Store) finish(id string, pid, code int) error {
	var remove bool
	err := c.locked(func() error {
		s, err := c.Get(id)
		if err != nil {
			return err
		}
		if s.Pid != pid {
			if s.ExitCode == nil && code >= 0 && s.Finished.After(s.Started) {
				s.ExitCode = &code // stop got here first, without a code
				return c.put(s)
			}
			return nil
		}
		if s.Run != nil && s.Run.Remove {
			remove = true // no record to keep: Remove unmounts and deletes
			return nil
		}
		s.Pid, s.PidStart, s.FrozenBy, s.Paused = 0, 0, nil, false
		s.Finished = time.Now().UTC()
		if code >= 0 {
			s.ExitCode = &code
		}
		// The mount run took goes, recorded with the end in one write.
		if s.MountCount <= 1 {
			if err := union.Unmount(c.MergedDir(s.ID)); err != nil {
				return err
			}
			s.MountCount = 0
		} else {
			s.MountCount--
		}
		return c.put(s)
	})
	if err == nil && remove {
		_, err = c.Remove(id, true)
	}
	// A container removed meanwhile (rm -f) has nothing left to record.
	if errors.Is(err, ErrContainerNotFound) {
		return nil
	}
	return err
}

// alive tells whether a container's recorded process still runs (the same
// process: its start time rules out a reused PID).
func (c *Store) alive(s State) bool { return processAlive(s.Pid, s.PidStart) }

func (c *Store) imageConfig(s State) (*v1.Config, error) {
	raw, err := c.layers.Blob(s.Image)
	if err != nil {
		return nil, fmt.Errorf("image of container %s: %w", s.Name, err)
	}
	f, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("image config of container %s: %w", s.Name, err)
	}
	return &f.Config, nil
}

// mergeEnv adds KEY=VALUE entries to an environment, replacing same keys.
func mergeEnv(base, add []string) []string {
	out := append([]string(nil), base...)
	for _, kv := range add {
		k, _, _ := strings.Cut(kv, "=")
		replaced := false
		for i, e := range out {
			if ek, _, _ := strings.Cut(e, "="); ek == k {
				out[i], replaced = kv, true
				break
			}
		}
		if !replaced {
			out = append(out, kv)
		}
	}
	return out
}

// LogPath is where a detached container's output goes.
func (c *Store) LogPath(id string) string { return c.part(id, layer.ContainerLog) }
