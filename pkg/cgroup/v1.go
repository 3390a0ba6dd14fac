package cgroup

import (
	"fmt"
	"maps"
	"path/filepath"
	"strconv"
	"time"
)

// v1 is a cgroup spread over the v1 hierarchies, one directory in each.
type v1 struct {
	dirs  map[string]string // controller -> directory
	order []string          // distinct directories
}

var _ hierarchy = (*v1)(nil)

// newV1 plans the directories of a new cgroup in every mounted hierarchy
// among v1Controllers, and fails when a limit's controller is missing.
func newV1(root, id string, l Limits) (*v1, error) {
	h := &v1{dirs: map[string]string{}}
	for _, c := range mountedV1(root) {
		h.addDir(c, leafDir(mountDir(root, c), id))
	}
	for _, c := range limitControllers(l) {
		if h.dirs[c] == "" {
			return nil, fmt.Errorf("the %s limit needs the v1 %s controller, which is not mounted at %s: %w",
				c, c, filepath.Join(root, c), ErrUnsupported)
		}
	}
	return h, nil
}

// openV1 finds the directories an existing cgroup has.
func openV1(root, id string) (*v1, error) {
	h := &v1{dirs: map[string]string{}}
	for _, c := range mountedV1(root) {
		if d := leafDir(mountDir(root, c), id); exists(d) {
			h.addDir(c, d)
		}
	}
	if len(h.order) == 0 {
		return nil, ErrNotFound
	}
	return h, nil
}

// mountDir resolves a controller's mount: controllers co-mounted in one
// hierarchy (cpu,cpuacct) are reached through symlinks named after each,
// and share one directory per cgroup.
func mountDir(root, controller string) string {
	p := filepath.Join(root, controller)
	if real, err := filepath.EvalSymlinks(p); err == nil {
		return real
	}
	return p
}

func (h *v1) addDir(controller, dir string) {
	h.dirs[controller] = dir
	for _, d := range h.order {
		if d == dir {
			return
		}
	}
	h.order = append(h.order, dir)
}

func (h *v1) mode() Mode                   { return V1 }
func (h *v1) paths() map[string]string     { return maps.Clone(h.dirs) }
func (h *v1) leaves() []string             { return h.order }
func (h *v1) dir(controller string) string { return h.dirs[controller] }
func (h *v1) knobs(l Limits) []knob        { return v1Knobs(l) }

func (h *v1) prepare(o *options) error {
	for _, d := range h.order {
		if err := ensureDir(o, filepath.Dir(d)); err != nil {
			return err
		}
	}
	return nil
}

// limitControllers are the controllers that the limits set need.
func limitControllers(l Limits) []string {
	var out []string
	if l.CPUs > 0 {
		out = append(out, "cpu")
	}
	if l.Memory > 0 {
		out = append(out, "memory")
	}
	if l.PIDs > 0 {
		out = append(out, "pids")
	}
	return out
}

// v1Knobs turns limits into v1 file writes (cgroup-v1/memory.rst,
// scheduler/sched-bwc.rst, cgroup-v1/pids.rst), in the order they must be
// written.
func v1Knobs(l Limits) []knob {
	var ks []knob
	if l.CPUs > 0 {
		ks = append(ks,
			knob{controller: "cpu", file: "cpu.cfs_period_us", value: strconv.Itoa(cfsPeriod)},
			knob{controller: "cpu", file: "cpu.cfs_quota_us", value: strconv.FormatInt(cfsQuota(l.CPUs), 10)})
	}
	if l.Memory > 0 {
		mem := strconv.FormatInt(l.Memory, 10)
		ks = append(ks,
			knob{controller: "memory", file: "memory.limit_in_bytes", value: mem},
			// memory+swap equal to memory leaves no room for swap. It must
			// come after memory.limit_in_bytes, which may not exceed it;
			// the file is missing when swap accounting is off.
			knob{controller: "memory", file: "memory.memsw.limit_in_bytes", value: mem, ifPresent: true},
			// Without swap accounting, this at least asks the kernel not
			// to swap; a kernel that refuses it still enforces the limit.
			knob{controller: "memory", file: "memory.swappiness", value: "0", bestEffort: true})
	}
	if l.PIDs > 0 {
		ks = append(ks, knob{controller: "pids", file: "pids.max", value: strconv.FormatInt(l.PIDs, 10)})
	}
	return ks
}

func (h *v1) stats() (Stats, error) {
	var s Stats
	var err error
	if d := h.dirs["memory"]; d != "" {
		if s.MemoryUsage, err = readInt(d, "memory.usage_in_bytes"); err != nil {
			return s, err
		}
		if s.MemoryPeak, err = readInt(d, "memory.max_usage_in_bytes"); err != nil {
			return s, err
		}
	}
	if d := h.dirs["pids"]; d != "" {
		if s.PIDs, err = readInt(d, "pids.current"); err != nil {
			return s, err
		}
	}
	if d := h.dirs["cpuacct"]; d != "" {
		ns, err := readInt(d, "cpuacct.usage")
		if err != nil {
			return s, err
		}
		s.CPUUsage = time.Duration(ns)
	}
	return s, nil
}

func (h *v1) oomKilled() (bool, error) {
	d := h.dirs["memory"]
	if d == "" {
		return false, fmt.Errorf("no v1 memory controller: %w", ErrUnsupported)
	}
	ctl, err := readKeyed(d, "memory.oom_control")
	if err != nil {
		return false, err
	}
	if _, ok := ctl["oom_kill"]; ok {
		return oomKilledV1(ctl, 0, 0, 0), nil
	}
	var failcnt, peak, limit int64
	for _, r := range []struct {
		file string
		n    *int64
	}{{"memory.failcnt", &failcnt}, {"memory.max_usage_in_bytes", &peak}, {"memory.limit_in_bytes", &limit}} {
		if *r.n, err = readInt(d, r.file); err != nil {
			return false, err
		}
	}
	return oomKilledV1(ctl, failcnt, peak, limit), nil
}

// oomKilledV1 decides from memory.oom_control, whose oom_kill count
// appeared in Linux 4.13. Older kernels leave a guess: the OOM killer is
// at work (under_oom), or charges failed (failcnt) with usage at the
// limit, which with swap off is where the kernel kills; a cgroup that only
// had to drop page cache at its limit can look the same.
func oomKilledV1(oomControl map[string]int64, failcnt, peak, limit int64) bool {
	if n, ok := oomControl["oom_kill"]; ok {
		return n > 0
	}
	return oomControl["under_oom"] > 0 || (failcnt > 0 && limit > 0 && peak >= limit)
}

func (h *v1) freezerDir() (string, error) {
	if d := h.dirs["freezer"]; d != "" {
		return d, nil
	}
	return "", fmt.Errorf("no v1 freezer controller: %w", ErrUnsupported)
}

func (h *v1) freeze() error {
	d, err := h.freezerDir()
	if err != nil {
		return err
	}
	return writeFile(d, "freezer.state", "FROZEN")
}

// frozen reads freezer.state, which says FREEZING until every task has
// stopped (cgroup-v1/freezer-subsystem.rst).
func (h *v1) frozen() (bool, error) {
	d, err := h.freezerDir()
	if err != nil {
		return false, err
	}
	s, err := readFile(d, "freezer.state")
	return s == "FROZEN", err
}

func (h *v1) thaw() error {
	d, err := h.freezerDir()
	if err != nil {
		return err
	}
	return writeFile(d, "freezer.state", "THAWED")
}

// kill: v1 has no cgroup.kill.
func (h *v1) kill() (bool, error) { return false, nil }
