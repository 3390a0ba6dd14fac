package ns

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// syscallData is what the kernel hands a filter.
type syscallData struct {
	arch uint32
	nr   uint32
	args [6]uint64
}

// runFilter evaluates a compiled program on a system call with
// x/net/bpf's VM. The VM loads words big-endian, so the data is laid out
// as seccomp_data is on a little-endian machine, word by word in the VM's
// order: nr, arch, and each argument's low half before its high half.
func runFilter(t *testing.T, prog *seccompProgram, d syscallData) uint32 {
	t.Helper()
	var raw []bpf.RawInstruction
	for b := prog.Filter; len(b) >= 8; b = b[8:] {
		raw = append(raw, bpf.RawInstruction{Op: binary.NativeEndian.Uint16(b), Jt: b[2], Jf: b[3], K: binary.NativeEndian.Uint32(b[4:])})
	}
	insns, ok := bpf.Disassemble(raw)
	if !ok {
		t.Fatal("the program does not disassemble")
	}
	vm, err := bpf.NewVM(insns)
	if err != nil {
		t.Fatalf("NewVM: %v", err)
	}
	return runVM(t, vm, d)
}

func runVM(t *testing.T, vm *bpf.VM, d syscallData) uint32 {
	t.Helper()
	buf := make([]byte, 64)
	binary.BigEndian.PutUint32(buf[0:], d.nr)
	binary.BigEndian.PutUint32(buf[4:], d.arch)
	for i, a := range d.args {
		binary.BigEndian.PutUint32(buf[16+8*i:], uint32(a))
		binary.BigEndian.PutUint32(buf[20+8*i:], uint32(a>>32))
	}
	v, err := vm.Run(buf)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return uint32(v)
}

func requireAMD64(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the cases name x86-64 and i386 system call numbers")
	}
}

func nr(t *testing.T, arch int, name string) uint32 {
	t.Helper()
	n, ok := seccompArches[arch].lookup(name)
	if !ok {
		t.Fatalf("no system call %q in %s", name, seccompArches[arch].spec)
	}
	return n
}

const (
	allow  = unix.SECCOMP_RET_ALLOW
	eperm  = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
	enosys = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
	kill   = unix.SECCOMP_RET_KILL_PROCESS
	x86_64 = unix.AUDIT_ARCH_X86_64
	i386   = unix.AUDIT_ARCH_I386
)

// Docker's default profile for a container with Docker's capabilities,
// call by call, the argument filters included.
func TestSeccompDefaultProfileDecisions(t *testing.T) {
	requireAMD64(t)
	prog, err := Seccomp{}.program(defaultCaps)
	must(t, err)
	call := func(name string, args ...uint64) syscallData {
		d := syscallData{arch: x86_64, nr: nr(t, 0, name)}
		copy(d.args[:], args)
		return d
	}
	nsFlags := uint64(unix.CLONE_NEWUSER)
	for _, tc := range []struct {
		name string
		call syscallData
		want uint32
	}{
		{"read", call("read"), allow},
		{"keyctl", call("keyctl"), eperm},
		{"add_key", call("add_key"), eperm},
		{"request_key", call("request_key"), eperm},
		{"unshare", call("unshare", nsFlags), eperm},
		{"mount", call("mount"), eperm},
		{"chroot with CAP_SYS_CHROOT", call("chroot"), allow},
		{"clone3", call("clone3"), enosys},
		{"clone thread", call("clone", unix.CLONE_VM|unix.CLONE_THREAD|unix.CLONE_SIGHAND), allow},
		{"clone newuser", call("clone", nsFlags|uint64(unix.SIGCHLD)), eperm},
		{"clone newns", call("clone", unix.CLONE_NEWNS), eperm},
		{"clone high bits only", call("clone", 1<<40), allow},
		{"personality 0", call("personality", 0), allow},
		{"personality PER_LINUX32", call("personality", 8), allow},
		{"personality query", call("personality", 0xffffffff), allow},
		{"personality ADDR_NO_RANDOMIZE", call("personality", 0x0040000), eperm},
		{"personality high half", call("personality", 1<<32), eperm},
		{"socket unix", call("socket", unix.AF_UNIX), allow},
		{"socket inet6", call("socket", unix.AF_INET6), allow},
		{"socket netlink", call("socket", unix.AF_NETLINK), allow},
		{"socket vsock", call("socket", unix.AF_VSOCK), eperm},
		{"socket alg", call("socket", unix.AF_ALG), eperm},
		{"socket 0", call("socket", 0), allow},
		{"above every named call", syscallData{arch: x86_64, nr: 2000}, enosys},
		{"x32", syscallData{arch: x86_64, nr: 0x40000000 | nr(t, 0, "read")}, enosys},
		{"i386 read", syscallData{arch: i386, nr: nr(t, 1, "read")}, allow},
		{"i386 socketcall", syscallData{arch: i386, nr: nr(t, 1, "socketcall")}, allow},
		{"i386 keyctl", syscallData{arch: i386, nr: nr(t, 1, "keyctl")}, eperm},
		{"other arch", syscallData{arch: unix.AUDIT_ARCH_AARCH64, nr: 63}, kill},
	} {
		if got := runFilter(t, prog, tc.call); got != tc.want {
			t.Errorf("%s: %#x, want %#x", tc.name, got, tc.want)
		}
	}
	// Runs of calls with one plain action take one comparison each: 503
	// instructions here, where a comparison per call took 1385.
	if n := len(prog.Filter) / 8; n > 600 {
		t.Errorf("the default profile takes %d instructions, want at most 600", n)
	}
}

// Every comparison of Docker's format, on both halves of 64-bit values.
func TestSeccompOperators(t *testing.T) {
	requireAMD64(t)
	const big = uint64(5)<<32 | 7
	mk := func(op specs.LinuxSeccompOperator, v, v2 uint64) *seccompProgram {
		t.Helper()
		sc, err := LoadSeccompProfile(fmt.Appendf(nil, `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
			{"names":["getpid"],"action":"SCMP_ACT_ALLOW"},
			{"names":["mkdir"],"action":"SCMP_ACT_ALLOW","args":[{"index":1,"value":%d,"valueTwo":%d,"op":%q}]}]}`, v, v2, op))
		must(t, err)
		prog, err := sc.program(defaultCaps)
		must(t, err)
		return prog
	}
	mkdir := nr(t, 0, "mkdir")
	for _, tc := range []struct {
		op     specs.LinuxSeccompOperator
		v, v2  uint64
		arg    uint64
		allows bool
	}{
		{specs.OpEqualTo, big, 0, big, true},
		{specs.OpEqualTo, big, 0, 7, false},
		{specs.OpEqualTo, big, 0, big + 1<<32, false},
		{specs.OpNotEqual, big, 0, big, false},
		{specs.OpNotEqual, big, 0, 7, true},
		{specs.OpGreaterThan, big, 0, big, false},
		{specs.OpGreaterThan, big, 0, big + 1, true},
		{specs.OpGreaterThan, big, 0, 6<<32 | 0, true},
		{specs.OpGreaterThan, big, 0, 4<<32 | 9, false},
		{specs.OpGreaterEqual, big, 0, big, true},
		{specs.OpGreaterEqual, big, 0, big - 1, false},
		{specs.OpLessThan, big, 0, big, false},
		{specs.OpLessThan, big, 0, big - 1, true},
		{specs.OpLessThan, big, 0, 4<<32 | 9, true},
		{specs.OpLessThan, big, 0, 6<<32 | 0, false},
		{specs.OpLessEqual, big, 0, big, true},
		{specs.OpLessEqual, big, 0, big + 1, false},
		{specs.OpMaskedEqual, 0xff0000000f, 0x050000000a, 0x05aa00001a, true},
		{specs.OpMaskedEqual, 0xff0000000f, 0x050000000a, 0x06aa00001a, false},
		{specs.OpMaskedEqual, 0xff0000000f, 0x050000000a, 0x05aa00001b, false},
	} {
		got := runFilter(t, mk(tc.op, tc.v, tc.v2), syscallData{arch: x86_64, nr: mkdir, args: [6]uint64{0, tc.arg}})
		if (got == allow) != tc.allows {
			t.Errorf("%s %#x (%#x) on %#x: %#x, want allowed %v", tc.op, tc.v, tc.v2, tc.arg, got, tc.allows)
		}
	}
}

// Rules of one call: several comparisons of one argument are alternatives
// (runc's reading), of distinct arguments all must hold, and an
// unconditional rule is what is left when none matches.
func TestSeccompRuleOrder(t *testing.T) {
	requireAMD64(t)
	sc, err := LoadSeccompProfile([]byte(`{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":13,"syscalls":[
		{"names":["mkdir"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"},{"index":0,"value":2,"op":"SCMP_CMP_EQ"}]},
		{"names":["mkdir"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":3,"op":"SCMP_CMP_EQ"},{"index":1,"value":4,"op":"SCMP_CMP_EQ"}]},
		{"names":["rmdir"],"action":"SCMP_ACT_ERRNO","errnoRet":1,"args":[{"index":0,"value":9,"op":"SCMP_CMP_EQ"}]},
		{"names":["rmdir"],"action":"SCMP_ACT_LOG"},
		{"names":["not_a_syscall_anywhere"],"action":"SCMP_ACT_ALLOW"}]}`))
	must(t, err)
	prog, err := sc.program(defaultCaps)
	must(t, err)
	mkdir, rmdir := nr(t, 0, "mkdir"), nr(t, 0, "rmdir")
	for _, tc := range []struct {
		nr   uint32
		args [6]uint64
		want uint32
	}{
		{mkdir, [6]uint64{1}, allow},
		{mkdir, [6]uint64{2}, allow},
		{mkdir, [6]uint64{3, 4}, allow},
		{mkdir, [6]uint64{3, 5}, unix.SECCOMP_RET_ERRNO | 13},
		{mkdir, [6]uint64{4, 4}, unix.SECCOMP_RET_ERRNO | 13},
		{rmdir, [6]uint64{9}, eperm},
		{rmdir, [6]uint64{8}, unix.SECCOMP_RET_LOG},
		{nr(t, 0, "read"), [6]uint64{}, unix.SECCOMP_RET_ERRNO | 13},
	} {
		if got := runFilter(t, prog, syscallData{arch: x86_64, nr: tc.nr, args: tc.args}); got != tc.want {
			t.Errorf("nr %d %v: %#x, want %#x", tc.nr, tc.args[:2], got, tc.want)
		}
	}
}

// A bad profile is one clear line, before anything starts.
func TestLoadSeccompProfileErrors(t *testing.T) {
	many := `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[` + strings.Repeat(`{"names":["mkdir"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"SCMP_CMP_NE"},{"index":1,"value":1,"op":"SCMP_CMP_NE"}]},`, 800) +
		`{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}`
	for _, tc := range []struct {
		name, profile, want string
	}{
		{"not JSON", `defaultAction: allow`, "invalid character"},
		{"empty", ``, "EOF"},
		{"misspelt field", `{"defaultAktion":"SCMP_ACT_ALLOW"}`, `unknown field "defaultAktion"`},
		{"misspelt rule field", `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"name":"read","acton":"SCMP_ACT_ALLOW"}]}`, `unknown field "acton"`},
		{"two values", `{"defaultAction":"SCMP_ACT_ALLOW"} {}`, "more than one JSON value"},
		{"unknown default action", `{"defaultAction":"SCMP_ACT_MAYBE"}`, `defaultAction: unknown action "SCMP_ACT_MAYBE"`},
		{"no default action", `{"syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}`, "defaultAction: no action"},
		{"unknown action", `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"ALLOW"}]}`, `syscalls[0] (read): unknown action "ALLOW"`},
		{"notify", `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_NOTIFY"}]}`, "not supported"},
		{"no names", `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"action":"SCMP_ACT_ALLOW"}]}`, "syscalls[0]: no names"},
		{"bad operator", `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"SCMP_CMP_LIKE"}]}]}`, `unknown operator "SCMP_CMP_LIKE"`},
		{"bad index", `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":6,"value":1,"op":"SCMP_CMP_EQ"}]}]}`, "argument index 6"},
		{"bad errno", `{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":70000}`, "errnoRet 70000"},
		{"two actions", `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"},{"names":["read"],"action":"SCMP_ACT_KILL"}]}`, "read has two actions"},
		{"bad arch", `{"defaultAction":"SCMP_ACT_ERRNO","architectures":["x86_64"]}`, `architecture "x86_64"`},
		{"arch twice", `{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],"archMap":[{"architecture":"SCMP_ARCH_X86_64","subArchitectures":[]}]}`, "both 'architectures' and 'archMap'"},
		{"bad kernel", `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","includes":{"minKernel":"five"}}]}`, "invalid kernel version"},
		{"listener", `{"defaultAction":"SCMP_ACT_ERRNO","listenerPath":"/run/x.sock"}`, "listenerPath"},
		{"flag", `{"defaultAction":"SCMP_ACT_ERRNO","flags":["SECCOMP_FILTER_FLAG_NEW_LISTENER"]}`, "SECCOMP_FILTER_FLAG_NEW_LISTENER"},
		{"too big", many, "more than the kernel's 4096"},
	} {
		_, err := LoadSeccompProfile([]byte(tc.profile))
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want one line with %q", tc.name, err, tc.want)
		}
	}
}

// Docker's own rules for what is no profile at all, and a flag that
// changes nothing here.
func TestLoadSeccompProfileEmpty(t *testing.T) {
	sc, err := LoadSeccompProfile([]byte(`{}`))
	must(t, err)
	if prog, err := sc.program(defaultCaps); err != nil || prog != nil {
		t.Fatalf("{}: %v, %v; want no filter, as Docker", prog, err)
	}
	sc, err = LoadSeccompProfile([]byte(`{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_TSYNC","SECCOMP_FILTER_FLAG_LOG"]}`))
	must(t, err)
	if prog, err := sc.program(defaultCaps); err != nil || prog == nil || prog.Flags != unix.SECCOMP_FILTER_FLAG_LOG {
		t.Fatalf("flags: %+v, %v", prog, err)
	}
}

// Compiling Docker's default profile happens on every start.
func BenchmarkSeccompCompileDefault(b *testing.B) {
	for b.Loop() {
		prog, err := Seccomp{}.compile(defaultCaps)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(prog.Filter)/8), "insns")
	}
}

// referenceDecision is what a profile says of one call, read the slow way:
// the first rule with arguments that holds, else the rule without, else
// the default; ENOSYS above the profile's newest call.
func referenceDecision(t *testing.T, p *specs.LinuxSeccomp, arch *seccompArch, d syscallData) uint32 {
	t.Helper()
	def, err := seccompAction(p.DefaultAction, p.DefaultErrnoRet)
	must(t, err)
	var newest uint32
	plain, hasPlain := uint32(0), false
	var conditional []seccompRule
	for _, sc := range p.Syscalls {
		act, err := seccompAction(sc.Action, sc.ErrnoRet)
		must(t, err)
		rules, err := splitArgs(sc.Args)
		must(t, err)
		for _, name := range sc.Names {
			n, ok := arch.lookup(name)
			if !ok {
				continue
			}
			newest = max(newest, n)
			if n != d.nr {
				continue
			}
			if rules == nil {
				plain, hasPlain = act, true
			}
			for _, args := range rules {
				conditional = append(conditional, seccompRule{act, args})
			}
		}
	}
	holds := func(c specs.LinuxSeccompArg) bool {
		a := d.args[c.Index]
		switch c.Op {
		case specs.OpEqualTo:
			return a == c.Value
		case specs.OpNotEqual:
			return a != c.Value
		case specs.OpLessThan:
			return a < c.Value
		case specs.OpLessEqual:
			return a <= c.Value
		case specs.OpGreaterThan:
			return a > c.Value
		case specs.OpGreaterEqual:
			return a >= c.Value
		case specs.OpMaskedEqual:
			return a&c.Value == c.ValueTwo
		}
		t.Fatalf("operator %s", c.Op)
		return false
	}
rules:
	for _, r := range conditional {
		for _, c := range r.args {
			if !holds(c) {
				continue rules
			}
		}
		return r.action
	}
	if hasPlain {
		return plain
	}
	if d.nr > newest && def != allow && def != unix.SECCOMP_RET_LOG {
		return enosys
	}
	return def
}

// The compiled filter decides as the profile reads, for every system call
// number of both architectures, with arguments that do and do not match
// its rules; the generated profile is large enough that jumps need relays.
func TestSeccompMatchesReference(t *testing.T) {
	requireAMD64(t)
	generated := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno,
		Architectures: []specs.Arch{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"}}
	argSets := map[string][][6]uint64{} // by syscall name: arguments its rules match
	for i, s := range seccompArches[0].syscalls[:180] {
		errno := uint(i%90 + 1)
		sc := specs.LinuxSyscall{Names: []string{s.name}, Action: specs.ActErrno, ErrnoRet: &errno}
		switch i % 3 {
		case 0:
			sc.Action = specs.ActAllow
		case 1:
			sc.Args = []specs.LinuxSeccompArg{{Index: uint(i % 6), Value: uint64(i) << (i % 40), Op: specs.OpGreaterEqual},
				{Index: uint(i+1) % 6, Value: 0xff, ValueTwo: uint64(i % 256), Op: specs.OpMaskedEqual}}
			var args [6]uint64
			args[i%6], args[(i+1)%6] = uint64(i)<<(i%40), uint64(i%256)
			argSets[s.name] = append(argSets[s.name], args)
		case 2:
			sc.Args = []specs.LinuxSeccompArg{{Index: 0, Value: uint64(i), Op: specs.OpEqualTo}, {Index: 0, Value: uint64(i) << 33, Op: specs.OpEqualTo}}
			argSets[s.name] = append(argSets[s.name], [6]uint64{uint64(i)}, [6]uint64{uint64(i) << 33})
		}
		generated.Syscalls = append(generated.Syscalls, sc)
	}
	anyCall := [][6]uint64{{}, {^uint64(0), 1 << 32, 7, 8, 9, 10}, {unix.AF_VSOCK}, {unix.AF_INET6}, {0xffffffff}, {0x20008}, {unix.CLONE_NEWUSER}}
	defProfile, err := seccompDefaultConditioned(defaultCaps)
	must(t, err)
	for _, tc := range []struct {
		name    string
		profile *specs.LinuxSeccomp
	}{{"default", defProfile}, {"generated", generated}} {
		raw, err := compileSeccomp(tc.profile)
		must(t, err)
		if tc.name == "generated" && len(raw) < 1000 {
			t.Fatalf("the generated profile compiles to %d instructions: too few to need relays", len(raw))
		}
		insns, _ := bpf.Disassemble(raw)
		vm, err := bpf.NewVM(insns)
		must(t, err)
		for ai := range seccompArches {
			arch := &seccompArches[ai]
			names := map[uint32]string{}
			for _, s := range arch.syscalls {
				names[s.nr] = s.name
			}
			for nr := uint32(0); nr < 520; nr++ {
				for _, args := range append(anyCall, argSets[names[nr]]...) {
					d := syscallData{arch: arch.audit, nr: nr, args: args}
					want := referenceDecision(t, tc.profile, arch, d)
					if got := runVM(t, vm, d); got != want {
						t.Fatalf("%s: %s nr %d args %#x: %#x, want %#x", tc.name, arch.spec, nr, args, got, want)
					}
				}
			}
		}
	}
}
