package ns

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Seccomp is a container's system call filter, as Docker's --security-opt
// seccomp=... chooses it. The zero value is Docker's default profile, which
// refuses with EPERM what a container has no business calling (keyctl and
// add_key, unshare and clone into new namespaces, mount, bpf, personality
// flags, most socket families...) unless its capabilities allow it.
type Seccomp struct {
	// Unconfined installs no filter.
	Unconfined bool `json:"unconfined,omitempty"`
	// Profile is a profile in Docker's JSON format (defaultAction,
	// defaultErrnoRet, architectures or archMap, syscalls with names,
	// action, errnoRet, args, includes and excludes), checked by
	// LoadSeccompProfile; empty: Docker's default profile. A container
	// keeps the text, as Docker does, not the name of its file.
	Profile json.RawMessage `json:"profile,omitempty"`
}

// LoadSeccompProfile reads and checks a profile in Docker's JSON format, so
// that a bad one is refused before anything starts: an unknown field (a
// misspelt one would leave its rule out unnoticed), action, operator or
// architecture is an error.
func LoadSeccompProfile(data []byte) (Seccomp, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p seccomp.Seccomp
	if err := dec.Decode(&p); err != nil {
		return Seccomp{}, fmt.Errorf("read seccomp profile: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Seccomp{}, fmt.Errorf("read seccomp profile: more than one JSON value")
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, data); err != nil {
		return Seccomp{}, fmt.Errorf("read seccomp profile: %w", err)
	}
	s := Seccomp{Profile: compact.Bytes()}
	if _, err := s.program(defaultCaps); err != nil {
		return Seccomp{}, err
	}
	return s, nil
}

// seccompProgram is a compiled filter as the init step installs it: struct
// sock_filter entries in this machine's byte order, and seccomp(2) flags.
type seccompProgram struct {
	Filter []byte `json:"filter"`
	Flags  uint   `json:"flags,omitempty"`
}

// The last program compiled: a builder starts many containers with one
// profile.
var seccompCache struct {
	sync.Mutex
	key  string
	prog *seccompProgram
}

// program compiles the filter of a container whose capabilities are caps
// (rules with includes or excludes on capabilities follow them, as in
// Docker); nil when it has none. The profile is only compiled here, when a
// container starts, never at package init: most commands run none.
func (s Seccomp) program(caps []int) (*seccompProgram, error) {
	if s.Unconfined {
		return nil, nil
	}
	if prog := s.shipped(caps); prog != nil {
		return prog, nil
	}
	key := fmt.Sprint(caps) + string(s.Profile)
	seccompCache.Lock()
	defer seccompCache.Unlock()
	if seccompCache.prog != nil && seccompCache.key == key {
		return seccompCache.prog, nil
	}
	prog, err := s.compile(caps)
	if err != nil {
		return nil, err
	}
	seccompCache.key, seccompCache.prog = key, prog
	return prog, nil
}

// shipped is Docker's default profile compiled for Docker's default
// capabilities, the common case, where the build ships it: no compile of
// 500 instructions (a millisecond of a fresh process's CPU) at start. nil
// for any other profile or capability set.
func (s Seccomp) shipped(caps []int) *seccompProgram {
	if s.Unconfined || len(s.Profile) > 0 || defaultSeccompFilter == nil || !slices.Equal(caps, defaultCaps) {
		return nil
	}
	return &seccompProgram{Filter: defaultSeccompFilter, Flags: defaultSeccompFlags}
}

// later compiles the filter while the init step starts (a millisecond or
// two in a fresh process, hidden behind the clone and exec of the init
// step): the config waits for it only when it is sent. A profile of one's
// own compiles at once, so that its errors read plainly; Docker's default
// profile only fails where there is no system call table.
func (s Seccomp) later(caps []int) (func() (*seccompProgram, error), error) {
	if s.Unconfined || len(s.Profile) > 0 || len(seccompArches) == 0 || s.shipped(caps) != nil {
		prog, err := s.program(caps)
		if err != nil {
			return nil, err
		}
		return func() (*seccompProgram, error) { return prog, nil }, nil
	}
	done := make(chan struct{})
	var prog *seccompProgram
	var err error
	go func() {
		defer close(done)
		prog, err = s.program(caps)
	}()
	return func() (*seccompProgram, error) {
		<-done
		return prog, err
	}, nil
}

// compile applies the profile's conditions and compiles it.
func (s Seccomp) compile(caps []int) (*seccompProgram, error) {
	var p *specs.LinuxSeccomp
	var err error
	if len(s.Profile) == 0 {
		p, err = seccompDefaultConditioned(caps)
	} else {
		p, err = seccomp.LoadProfile(string(s.Profile), capSpec(caps))
	}
	if err != nil {
		return nil, fmt.Errorf("seccomp profile: %w", err)
	}
	if p == nil {
		return nil, nil // no default action and no rules: no filter, as in Docker
	}
	flags, err := seccompFlags(p.Flags)
	if err != nil {
		return nil, fmt.Errorf("seccomp profile: %w", err)
	}
	raw, err := compileSeccomp(p)
	if err != nil {
		return nil, fmt.Errorf("seccomp profile: %w", err)
	}
	prog := &seccompProgram{Filter: make([]byte, 0, 8*len(raw)), Flags: flags}
	for _, in := range raw {
		prog.Filter = binary.NativeEndian.AppendUint16(prog.Filter, in.Op)
		prog.Filter = append(prog.Filter, in.Jt, in.Jf)
		prog.Filter = binary.NativeEndian.AppendUint32(prog.Filter, in.K)
	}
	return prog, nil
}

// seccompDefaultConditioned is Docker's default profile with its
// conditions applied.
func seccompDefaultConditioned(caps []int) (*specs.LinuxSeccomp, error) {
	return seccomp.GetDefaultProfile(capSpec(caps))
}

// capSpec is the part of an OCI spec the profile's conditions read.
func capSpec(caps []int) *specs.Spec {
	return &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: capNames(caps)}}}
}

// seccompFlags reads a profile's flags. TSYNC changes nothing: the init step
// execs from the one thread that has the filter.
func seccompFlags(flags []specs.LinuxSeccompFlag) (uint, error) {
	var f uint
	for _, name := range flags {
		switch name {
		case specs.LinuxSeccompFlagLog:
			f |= unix.SECCOMP_FILTER_FLAG_LOG
		case specs.LinuxSeccompFlagSpecAllow:
			f |= unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW
		case "SECCOMP_FILTER_FLAG_TSYNC":
		default:
			return 0, fmt.Errorf("flag %q is not supported", name)
		}
	}
	return f, nil
}

// capabilityNames are the kernel's names of capabilities by number, as a
// profile's includes and excludes name them.
var capabilityNames = [...]string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
	"CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
	"CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
	"CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

func capNames(caps []int) []string {
	names := make([]string, 0, len(caps))
	for _, c := range caps {
		if c >= 0 && c < len(capabilityNames) {
			names = append(names, capabilityNames[c])
		}
	}
	return names
}
