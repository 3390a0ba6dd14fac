package ns

//go:generate go run mkseccomp_tables.go

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// seccompArch is an architecture whose system calls a filter can name: its
// libseccomp name, its audit arch (seccomp_data.arch) and its system call
// numbers sorted by name.
type seccompArch struct {
	spec     specs.Arch
	audit    uint32
	syscalls []syscallNumber
}

type syscallNumber struct {
	name string
	nr   uint32
}

func (a *seccompArch) lookup(name string) (uint32, bool) {
	i := sort.Search(len(a.syscalls), func(i int) bool { return a.syscalls[i].name >= name })
	if i < len(a.syscalls) && a.syscalls[i].name == name {
		return a.syscalls[i].nr, true
	}
	return 0, false
}

// The layout of struct seccomp_data (little-endian: the low half of an
// argument comes first).
const (
	seccompNrOff   = 0
	seccompArchOff = 4
	seccompArgsOff = 16
	x32SyscallBit  = 0x40000000
	bpfMaxInsns    = 4096 // BPF_MAXINSNS
)

// seccompRule is one rule of a system call: its action when every argument
// comparison holds.
type seccompRule struct {
	action uint32
	args   []specs.LinuxSeccompArg
}

// seccompCall is what a filter does with one system call number: the rules
// with arguments in the profile's order, then the rule without, or else
// the default action (as libseccomp orders them).
type seccompCall struct {
	nr          uint32
	rules       []seccompRule
	plain       uint32
	hasPlain    bool
	plainSource string
}

// compileSeccomp turns a profile whose conditions (capabilities, arch,
// kernel) are already applied into a BPF program, as runc with libseccomp
// would: a syscall of an architecture the profile does not list kills the
// process; a syscall numbered above every one the profile names returns
// ENOSYS when the default action refuses, so that libc falls back from
// calls newer than the profile (runc's patchbpf); x32 syscalls, which
// share x86-64's audit arch, return ENOSYS. Arguments compare as 64-bit
// unsigned values.
func compileSeccomp(p *specs.LinuxSeccomp) ([]bpf.RawInstruction, error) {
	if len(seccompArches) == 0 {
		return nil, fmt.Errorf("no system call table for this architecture: use seccomp=unconfined")
	}
	def, err := seccompAction(p.DefaultAction, p.DefaultErrnoRet)
	if err != nil {
		return nil, fmt.Errorf("defaultAction: %w", err)
	}
	if p.ListenerPath != "" {
		return nil, fmt.Errorf("listenerPath: user notification is not supported")
	}
	arches := []*seccompArch{&seccompArches[0]}
	for _, name := range p.Architectures {
		if !strings.HasPrefix(string(name), "SCMP_ARCH_") {
			return nil, fmt.Errorf("architecture %q: want SCMP_ARCH_...", name)
		}
		for i := 1; i < len(seccompArches); i++ {
			if seccompArches[i].spec == name && !slices.Contains(arches, &seccompArches[i]) {
				arches = append(arches, &seccompArches[i])
			}
		}
	}
	a := &bpfAsm{rev: make([]bpf.Instruction, 0, 2048), rets: map[uint32]int{}}
	enosys := unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
	stub := def != unix.SECCOMP_RET_ALLOW && def != unix.SECCOMP_RET_LOG
	entries := make([]int, len(arches))
	for i := len(arches) - 1; i >= 0; i-- {
		calls, err := seccompCalls(p.Syscalls, arches[i])
		if err != nil {
			return nil, err
		}
		l, err := a.dispatch(calls, def)
		if err != nil {
			return nil, err
		}
		if stub && len(calls) > 0 {
			l = a.jump(bpf.JumpGreaterThan, calls[len(calls)-1].nr, a.ret(enosys), l)
		}
		if arches[i].audit == unix.AUDIT_ARCH_X86_64 {
			l = a.jump(bpf.JumpGreaterOrEqual, x32SyscallBit, a.ret(enosys), l)
		}
		entries[i] = a.emit(bpf.LoadAbsolute{Off: seccompNrOff, Size: 4})
	}
	next := a.ret(unix.SECCOMP_RET_KILL_PROCESS)
	for i := len(arches) - 1; i >= 0; i-- {
		next = a.jump(bpf.JumpEqual, arches[i].audit, entries[i], next)
	}
	a.emit(bpf.LoadAbsolute{Off: seccompArchOff, Size: 4})
	if len(a.rev) > bpfMaxInsns {
		return nil, fmt.Errorf("the filter needs %d BPF instructions, more than the kernel's %d", len(a.rev), bpfMaxInsns)
	}
	prog := make([]bpf.Instruction, len(a.rev))
	for i, in := range a.rev {
		prog[len(prog)-1-i] = in
	}
	return bpf.Assemble(prog)
}

// seccompCalls gathers the rules of each system call that arch knows, in
// number order. Names it does not know are skipped: a profile names the
// calls of every architecture.
func seccompCalls(syscalls []specs.LinuxSyscall, arch *seccompArch) ([]seccompCall, error) {
	var maxNr uint32
	for _, s := range arch.syscalls {
		maxNr = max(maxNr, s.nr)
	}
	byNr := make([]seccompCall, maxNr+1) // indexed by number: no map, no sort
	used := make([]bool, maxNr+1)
	for i, sc := range syscalls {
		if len(sc.Names) == 0 {
			return nil, fmt.Errorf("syscalls[%d]: no names", i)
		}
		act, err := seccompAction(sc.Action, sc.ErrnoRet)
		if err != nil {
			return nil, fmt.Errorf("syscalls[%d] (%s): %w", i, sc.Names[0], err)
		}
		rules, err := splitArgs(sc.Args)
		if err != nil {
			return nil, fmt.Errorf("syscalls[%d] (%s): %w", i, sc.Names[0], err)
		}
		for _, name := range sc.Names {
			nr, ok := arch.lookup(name)
			if !ok {
				continue
			}
			c := &byNr[nr]
			c.nr, used[nr] = nr, true
			if rules == nil {
				if c.hasPlain && c.plain != act {
					return nil, fmt.Errorf("syscalls[%d]: %s has two actions, %s and %s", i, name, c.plainSource, sc.Action)
				}
				c.plain, c.hasPlain, c.plainSource = act, true, string(sc.Action)
				continue
			}
			for _, args := range rules {
				c.rules = append(c.rules, seccompRule{action: act, args: args})
			}
		}
	}
	var calls []seccompCall
	for nr, c := range byNr {
		if used[nr] {
			calls = append(calls, c)
		}
	}
	return calls, nil
}

// splitArgs turns a rule's comparisons into the rules runc makes of them:
// comparisons of distinct arguments must all hold, while several
// comparisons of one argument are alternatives, each a rule of its own
// (opencontainers/runc#2735). nil: a rule without arguments.
func splitArgs(args []specs.LinuxSeccompArg) ([][]specs.LinuxSeccompArg, error) {
	if len(args) == 0 {
		return nil, nil
	}
	var count [6]int
	for _, c := range args {
		if c.Index > 5 {
			return nil, fmt.Errorf("argument index %d: want 0 to 5", c.Index)
		}
		switch c.Op {
		case specs.OpEqualTo, specs.OpNotEqual, specs.OpLessThan, specs.OpLessEqual,
			specs.OpGreaterThan, specs.OpGreaterEqual, specs.OpMaskedEqual:
		default:
			return nil, fmt.Errorf("argument %d: unknown operator %q", c.Index, c.Op)
		}
		count[c.Index]++
	}
	var all []specs.LinuxSeccompArg
	var rules [][]specs.LinuxSeccompArg
	for _, c := range args {
		if count[c.Index] > 1 {
			rules = append(rules, []specs.LinuxSeccompArg{c})
		} else {
			all = append(all, c)
		}
	}
	if len(all) > 0 {
		rules = append(rules, all)
	}
	return rules, nil
}

// seccompAction is the filter's return value for a profile's action.
func seccompAction(act specs.LinuxSeccompAction, errnoRet *uint) (uint32, error) {
	data := uint32(unix.EPERM)
	if errnoRet != nil {
		if *errnoRet > 4095 {
			return 0, fmt.Errorf("errnoRet %d: want 4095 or less", *errnoRet)
		}
		data = uint32(*errnoRet)
	}
	switch act {
	case specs.ActAllow:
		return unix.SECCOMP_RET_ALLOW, nil
	case specs.ActErrno:
		return unix.SECCOMP_RET_ERRNO | data, nil
	case specs.ActKill, specs.ActKillThread:
		return unix.SECCOMP_RET_KILL_THREAD, nil
	case specs.ActKillProcess:
		return unix.SECCOMP_RET_KILL_PROCESS, nil
	case specs.ActTrap:
		return unix.SECCOMP_RET_TRAP, nil
	case specs.ActTrace:
		return unix.SECCOMP_RET_TRACE | data, nil
	case specs.ActLog:
		return unix.SECCOMP_RET_LOG, nil
	case specs.ActNotify:
		return 0, fmt.Errorf("action %s: user notification is not supported", act)
	case "":
		return 0, fmt.Errorf("no action")
	}
	return 0, fmt.Errorf("unknown action %q", act)
}

// bpfAsm writes a program backwards, last instruction first: every jump
// of a seccomp filter goes forward, so its targets are placed before it is
// and the distance is known at once. A label is an index into rev.
type bpfAsm struct {
	rev  []bpf.Instruction
	rets map[uint32]int // the latest "ret value" instruction
}

func (a *bpfAsm) emit(in bpf.Instruction) int {
	a.rev = append(a.rev, in)
	return len(a.rev) - 1
}

func (a *bpfAsm) ret(v uint32) int {
	if l, ok := a.rets[v]; ok {
		return l
	}
	l := a.emit(bpf.RetConstant{Val: v})
	a.rets[v] = l
	return l
}

// skip is how many instructions the next one passes over to reach l.
func (a *bpfAsm) skip(l int) int { return len(a.rev) - l - 1 }

// reach returns l, or a copy of its return or a jump to it, near enough
// for a conditional jump (8-bit offsets) placed at most one instruction
// later.
func (a *bpfAsm) reach(l int) int {
	if a.skip(l) <= 254 {
		return l
	}
	if r, ok := a.rev[l].(bpf.RetConstant); ok {
		n := a.emit(r)
		a.rets[r.Val] = n
		return n
	}
	return a.emit(bpf.Jump{Skip: uint32(a.skip(l))})
}

// jump places "if A cond k goto t else goto f".
func (a *bpfAsm) jump(cond bpf.JumpTest, k uint32, t, f int) int {
	t = a.reach(t)
	f = a.reach(f)
	return a.emit(bpf.JumpIf{Cond: cond, Val: k, SkipTrue: uint8(a.skip(t)), SkipFalse: uint8(a.skip(f))})
}

// segment is a run of system call numbers, from lo up to the next
// segment's lo, that the filter treats alike: one return, or (for a single
// call) its argument rules.
type segment struct {
	lo    uint32
	label int
}

// dispatch decides a system call by its number (in A). Calls and the gaps
// between them become runs of numbers, and consecutive numbers with the
// same plain action (allowed calls, mostly) one run: a binary search over
// the runs' starts leads straight to each run's return, with one compare
// per run rather than per call. A smaller program is faster for the kernel
// to check and compile when a container starts, and shallower to run on
// every system call.
func (a *bpfAsm) dispatch(calls []seccompCall, def uint32) (int, error) {
	var segs []segment
	var runAction uint32
	inRun := false // the last segment is a run of plain returns of runAction
	plain := func(lo, act uint32) {
		if !inRun || act != runAction {
			segs = append(segs, segment{lo: lo, label: a.ret(act)})
		}
		inRun, runAction = true, act
	}
	var next uint32
	for _, c := range calls {
		if c.nr > next {
			plain(next, def) // the gap below c
		}
		otherwise := def
		if c.hasPlain {
			otherwise = c.plain
		}
		if len(c.rules) == 0 {
			plain(c.nr, otherwise)
		} else {
			l, err := a.rules(c.rules, a.ret(otherwise))
			if err != nil {
				return 0, err
			}
			segs = append(segs, segment{lo: c.nr, label: l})
			inRun = false
		}
		next = c.nr + 1
	}
	plain(next, def) // above every call
	return a.search(segs), nil
}

// search places the binary search over segs, whose first one starts at 0.
func (a *bpfAsm) search(segs []segment) int {
	if len(segs) == 1 {
		return segs[0].label
	}
	mid := len(segs) / 2
	hi := a.search(segs[mid:])
	lo := a.search(segs[:mid])
	return a.jump(bpf.JumpGreaterOrEqual, segs[mid].lo, hi, lo)
}

// rules tries a call's rules in order, each the AND of its comparisons.
func (a *bpfAsm) rules(rules []seccompRule, otherwise int) (int, error) {
	next := otherwise
	for i := len(rules) - 1; i >= 0; i-- {
		l := a.ret(rules[i].action)
		for j := len(rules[i].args) - 1; j >= 0; j-- {
			l = a.compare(rules[i].args[j], l, next)
		}
		next = l
	}
	return next, nil
}

// compare tests one 64-bit argument, half by half; to match if it holds.
func (a *bpfAsm) compare(c specs.LinuxSeccompArg, match, fail int) int {
	switch c.Op {
	case specs.OpEqualTo:
		return a.maskedEqual(c.Index, ^uint64(0), c.Value, match, fail)
	case specs.OpNotEqual:
		return a.maskedEqual(c.Index, ^uint64(0), c.Value, fail, match)
	case specs.OpMaskedEqual:
		return a.maskedEqual(c.Index, c.Value, c.ValueTwo, match, fail)
	case specs.OpGreaterThan:
		return a.greater(c.Index, bpf.JumpGreaterThan, c.Value, match, fail)
	case specs.OpGreaterEqual:
		return a.greater(c.Index, bpf.JumpGreaterOrEqual, c.Value, match, fail)
	case specs.OpLessThan: // not >=
		return a.greater(c.Index, bpf.JumpGreaterOrEqual, c.Value, fail, match)
	case specs.OpLessEqual: // not >
		return a.greater(c.Index, bpf.JumpGreaterThan, c.Value, fail, match)
	}
	panic("compare: operator not checked by splitArgs: " + string(c.Op))
}

func argLow(i uint) uint32  { return seccompArgsOff + 8*uint32(i) }
func argHigh(i uint) uint32 { return argLow(i) + 4 }

// maskedEqual: (arg & mask) == value.
func (a *bpfAsm) maskedEqual(arg uint, mask, value uint64, match, fail int) int {
	lo := a.half(argLow(arg), uint32(mask), uint32(value), match, fail)
	return a.half(argHigh(arg), uint32(mask>>32), uint32(value>>32), lo, fail)
}

// half loads one half of an argument and tests (half & mask) == value.
func (a *bpfAsm) half(off, mask, value uint32, match, fail int) int {
	a.jump(bpf.JumpEqual, value, match, fail)
	if mask != ^uint32(0) {
		a.emit(bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: mask})
	}
	return a.emit(bpf.LoadAbsolute{Off: off, Size: 4})
}

// greater: arg > value (cond JumpGreaterThan) or arg >= value.
func (a *bpfAsm) greater(arg uint, cond bpf.JumpTest, value uint64, match, fail int) int {
	a.jump(cond, uint32(value), match, fail)
	lo := a.emit(bpf.LoadAbsolute{Off: argLow(arg), Size: 4})
	sameHigh := a.jump(bpf.JumpEqual, uint32(value>>32), lo, fail)
	a.jump(bpf.JumpGreaterThan, uint32(value>>32), match, sameHigh)
	return a.emit(bpf.LoadAbsolute{Off: argHigh(arg), Size: 4})
}
