package ns

import (
	"fmt"
	"io"
	"path"

	"github.com/layerctl/layerctl/pkg/ns/prespawn"
)

// DefaultPath is the PATH of a process whose environment sets none
// (Docker's default).
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Network modes.
const (
	NetNone = "none" // a new network namespace with only lo, up
	NetHost = "host" // the host's network namespace
)

// Volume is a bind mount of a host path into the container.
type Volume struct {
	Source   string // host path, file or directory
	Target   string // path inside the container, created when missing
	ReadOnly bool
	Name     string `json:",omitempty"` // a named volume's name; its Source is where the store keeps it
}

// Spec is a container to start: a rootfs and the process that becomes its
// PID 1.
type Spec struct {
	Rootfs   string // host directory that becomes /
	Hostname string
	Volumes  []Volume
	Tmpfs    []Tmpfs // mounted after the volumes
	ReadOnly bool    // the rootfs read-only (its mounts as they are), as docker run --read-only
	Net      string  // NetNone (default) or NetHost
	// NoPivot chroots into the rootfs instead of pivot_root, as when the
	// rootfs is on an initramfs.
	NoPivot bool

	Args       []string // Args[0] is looked up in the container's PATH
	Env        []string // KEY=VALUE; PATH, HOME and HOSTNAME get defaults
	WorkingDir string   // absolute, must exist in the container; default /
	User       string   // uid, uid:gid, name or name:group; default root
	// Privileged keeps every capability, leaves /proc and /sys unmasked
	// and /sys writable, and installs no seccomp filter (as Docker).
	Privileged bool
	// Caps are the capabilities the process keeps (kernel names, see
	// Capabilities); nil for Docker's default set. The seccomp profile's
	// rules for capabilities follow them.
	Caps []string
	// Rlimits are set on the process before anything else (--ulimit).
	Rlimits []Rlimit
	// GroupAdd are more supplementary groups (--group-add): names of the
	// image's /etc/group, or numbers.
	GroupAdd []string
	// Seccomp is the system call filter: Docker's default profile unless
	// set.
	Seccomp Seccomp
	// NoNewPrivileges sets no_new_privs: setuid and file capabilities no
	// longer raise privileges at execve.
	NoNewPrivileges bool
	// Init makes PID 1 a small init that starts the process as its child,
	// forwards signals to it and reaps orphans (docker run --init).
	Init bool

	// TTY gives the process a new pty of the container's /dev/pts as its
	// stdin, stdout and stderr and its controlling terminal, sized as the
	// caller's terminal; the parent copies Stdin to it and it to Stdout,
	// and puts Stdin in raw mode when it is a terminal.
	TTY    bool
	Stdin  io.Reader // nil: /dev/null
	Stdout io.Writer // nil: /dev/null
	Stderr io.Writer // nil: /dev/null; unused with TTY

	// Prepare runs once the init step exists and has been sent its config,
	// before it is sent its rootfs, while its runtime starts and it reads
	// the config: work the init step does not need until then (mounting
	// the rootfs, making the cgroup) is off the start's path there. An
	// error kills the init step and fails Start.
	Prepare func(pid int) error
	// BeforeStart runs once the init step has its config, while it sets
	// the rootfs up, and before it does anything of the user's: the place
	// to record pid and put it in a cgroup, so nothing runs unlimited. An
	// error kills the init step and fails Start.
	BeforeStart func(pid int) error
}

// ExecSpec is a process to start in a running container.
type ExecSpec struct {
	// PidStart is the start time (StartTime) recorded with the container's
	// pid: Exec joins no other process that has its pid by now. Zero skips
	// the check.
	PidStart uint64

	Args       []string
	Env        []string
	WorkingDir string
	User       string
	Privileged bool
	Caps       []string // the container's capabilities; nil for Docker's default set
	Rlimits    []Rlimit // the container's --ulimit
	GroupAdd   []string // the container's --group-add
	// Seccomp and NoNewPrivileges are the container's: an exec, even a
	// privileged one, gets the container's filter, as docker exec does.
	Seccomp         Seccomp
	NoNewPrivileges bool

	TTY    bool
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer

	// BeforeStart runs before the process does anything (cgroup join).
	BeforeStart func(pid int) error
}

// config is what the init step receives over its config pipe.
type config struct {
	Mode     string // modeRun or modeExec
	Rootfs   string
	Hostname string
	Volumes  []Volume
	Tmpfs    []Tmpfs
	ReadOnly bool
	NewNet   bool
	NoPivot  bool

	Args       []string
	Env        []string
	WorkingDir string
	User       string
	Privileged bool
	Caps       []int // kept unless Privileged
	Rlimits    []Rlimit
	GroupAdd   []string
	TTY        bool
	Init       bool

	Seccomp         *seccompProgram `json:",omitempty"` // nil: no filter
	NoNewPrivileges bool

	// seccompLater, when set, yields Seccomp once compiled (see
	// Seccomp.later).
	seccompLater func() (*seccompProgram, error)
}

const (
	modeRun  = prespawn.ModeRun
	modeExec = "exec"
)

// netNamespace tells whether a network mode needs a new network namespace.
func netNamespace(net string) (bool, error) {
	switch net {
	case "", NetNone:
		return true, nil
	case NetHost:
		return false, nil
	}
	return false, fmt.Errorf("spec: network %q: want %q or %q", net, NetNone, NetHost)
}

func (s *Spec) config() (*config, error) {
	if s.Rootfs == "" {
		return nil, fmt.Errorf("spec: no rootfs")
	}
	c := &config{
		Mode: modeRun, Rootfs: s.Rootfs, Hostname: s.Hostname, Volumes: s.Volumes, Tmpfs: s.Tmpfs, ReadOnly: s.ReadOnly, Rlimits: s.Rlimits, GroupAdd: s.GroupAdd,
		NoPivot: s.NoPivot, Args: s.Args, Env: s.Env, WorkingDir: s.WorkingDir,
		User: s.User, Privileged: s.Privileged, TTY: s.TTY, NoNewPrivileges: s.NoNewPrivileges,
		Init: s.Init,
	}
	var err error
	if c.NewNet, err = netNamespace(s.Net); err != nil {
		return nil, err
	}
	for _, v := range s.Volumes {
		if !path.IsAbs(v.Target) || !path.IsAbs(v.Source) {
			return nil, fmt.Errorf("spec: volume %s:%s: both paths must be absolute", v.Source, v.Target)
		}
	}
	for _, t := range s.Tmpfs {
		if !path.IsAbs(t.Target) || path.Clean(t.Target) == "/" {
			return nil, fmt.Errorf("spec: tmpfs %s: want an absolute path other than /", t.Target)
		}
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	if c.Caps, err = capNumbers(s.Caps); err != nil {
		return nil, err
	}
	if !s.Privileged { // as Docker: a privileged container has no filter
		if c.seccompLater, err = s.Seccomp.later(c.Caps); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (s *ExecSpec) config() (*config, error) {
	c := &config{
		Mode: modeExec, Args: s.Args, Env: s.Env, WorkingDir: s.WorkingDir, Rlimits: s.Rlimits, GroupAdd: s.GroupAdd,
		User: s.User, Privileged: s.Privileged, TTY: s.TTY, NoNewPrivileges: s.NoNewPrivileges,
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	var err error
	if c.Caps, err = capNumbers(s.Caps); err != nil {
		return nil, err
	}
	// The rules follow the container's capabilities, whatever this process
	// keeps: only an unprivileged container has a filter.
	if c.seccompLater, err = s.Seccomp.later(c.Caps); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *config) check() error {
	if len(c.Args) == 0 {
		return fmt.Errorf("spec: no command")
	}
	if c.WorkingDir != "" && !path.IsAbs(c.WorkingDir) {
		return fmt.Errorf("spec: working directory %q is not absolute", c.WorkingDir)
	}
	return nil
}

// StartError is a failure of the init step before the user's process
// started. Code follows Docker: 127 command not found, 126 command cannot
// be run, 125 any other setup failure.
type StartError struct {
	Code int
	Msg  string
}

func (e *StartError) Error() string { return e.Msg }

// ExitCode is the code a CLI should exit with.
func (e *StartError) ExitCode() int { return e.Code }

// Exit codes of StartError.
const (
	CodeSetup     = 125
	CodeCannotRun = 126
	CodeNotFound  = 127
)
