package cgroup

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// v2 is a cgroup in the unified hierarchy: one directory.
type v2 struct {
	root, path string
	want       []string // controllers to enable for the parent's children
}

var _ hierarchy = (*v2)(nil)

// newV2 plans a new cgroup and the controllers it needs: those of its
// limits, which must be available, plus memory and pids when available, as
// they also give Stats and OOMKilled their figures. cpu is enabled only for
// a CPU limit: enabling it refuses realtime tasks in the subtree
// (cgroup-v2.rst, "CPU").
func newV2(root, id string, l Limits) (*v2, error) {
	avail, err := readList(root, "cgroup.controllers")
	if err != nil {
		return nil, err
	}
	h := &v2{root: root, path: leafDir(root, id)}
	for _, c := range limitControllers(l) {
		if !slices.Contains(avail, c) {
			return nil, fmt.Errorf("the %s limit needs the %s controller, which is not in %s: %w",
				c, c, filepath.Join(root, "cgroup.controllers"), ErrUnsupported)
		}
		h.want = append(h.want, c)
	}
	for _, c := range []string{"memory", "pids"} {
		if slices.Contains(avail, c) && !slices.Contains(h.want, c) {
			h.want = append(h.want, c)
		}
	}
	return h, nil
}

func openV2(root, id string) (*v2, error) {
	h := &v2{root: root, path: leafDir(root, id)}
	if !exists(h.path) {
		return nil, ErrNotFound
	}
	return h, nil
}

func (h *v2) mode() Mode               { return V2 }
func (h *v2) paths() map[string]string { return map[string]string{"unified": h.path} }
func (h *v2) leaves() []string         { return []string{h.path} }
func (h *v2) dir(string) string        { return h.path }
func (h *v2) knobs(l Limits) []knob    { return v2Knobs(l) }

// prepare enables the wanted controllers in the root's and the parent's
// cgroup.subtree_control: a cgroup has a controller only when its parent
// enables it for its children. The parent holds no process, as the
// "no internal processes" rule requires of a cgroup that enables one.
func (h *v2) prepare(o *options) error {
	if err := enable(h.root, h.want); err != nil {
		return err
	}
	parent := filepath.Dir(h.path)
	if err := ensureDir(o, parent); err != nil {
		return err
	}
	return enable(parent, h.want)
}

// enable writes the controllers that dir does not yet enable for its
// children, all in one write.
func enable(dir string, want []string) error {
	on, err := readList(dir, "cgroup.subtree_control")
	if err != nil {
		return err
	}
	var add []string
	for _, c := range want {
		if !slices.Contains(on, c) {
			add = append(add, "+"+c)
		}
	}
	if len(add) == 0 {
		return nil
	}
	err = writeFile(dir, "cgroup.subtree_control", strings.Join(add, " "))
	if errors.Is(err, unix.EBUSY) {
		// The "no internal processes" rule: a non-root cgroup that holds
		// processes cannot give controllers to children.
		return fmt.Errorf("%s holds processes, so it cannot enable controllers for its children: %w", dir, err)
	}
	if err != nil {
		return err
	}
	return nil
}

func readList(dir, file string) ([]string, error) {
	s, err := readFile(dir, file)
	if err != nil {
		return nil, err
	}
	return strings.Fields(s), nil
}

// v2Knobs turns limits into cgroup-v2.rst file writes.
func v2Knobs(l Limits) []knob {
	var ks []knob
	if l.CPUs > 0 {
		ks = append(ks, knob{controller: "cpu", file: "cpu.max",
			value: strconv.FormatInt(cfsQuota(l.CPUs), 10) + " " + strconv.Itoa(cfsPeriod)})
	}
	if l.Memory > 0 {
		ks = append(ks,
			knob{controller: "memory", file: "memory.max", value: strconv.FormatInt(l.Memory, 10)},
			// Absent when the kernel does not account swap.
			knob{controller: "memory", file: "memory.swap.max", value: "0", ifPresent: true})
	}
	if l.PIDs > 0 {
		ks = append(ks, knob{controller: "pids", file: "pids.max", value: strconv.FormatInt(l.PIDs, 10)})
	}
	return ks
}

func (h *v2) stats() (Stats, error) {
	var s Stats
	var err error
	if s.MemoryUsage, err = readInt(h.path, "memory.current"); err != nil {
		return s, err
	}
	if s.MemoryPeak, err = readInt(h.path, "memory.peak"); err != nil {
		return s, err
	}
	if s.PIDs, err = readInt(h.path, "pids.current"); err != nil {
		return s, err
	}
	// cpu.stat's usage is there with or without the cpu controller.
	cpu, err := readKeyed(h.path, "cpu.stat")
	if err != nil {
		return s, err
	}
	s.CPUUsage = time.Duration(cpu["usage_usec"]) * time.Microsecond
	return s, nil
}

// oomKilled reads memory.events, whose oom_kill counts the processes the
// OOM killer killed in this cgroup and below.
func (h *v2) oomKilled() (bool, error) {
	if !exists(filepath.Join(h.path, "memory.events")) {
		return false, fmt.Errorf("the memory controller is not enabled for %s: %w", h.path, ErrUnsupported)
	}
	ev, err := readKeyed(h.path, "memory.events")
	return ev["oom_kill"] > 0, err
}

func (h *v2) freeze() error { return h.writeFreeze("1") }
func (h *v2) thaw() error   { return h.writeFreeze("0") }

// writeFreeze writes cgroup.freeze, which appeared in Linux 5.2.
func (h *v2) writeFreeze(v string) error {
	err := writeFile(h.path, "cgroup.freeze", v)
	if errors.Is(err, fs.ErrNotExist) && exists(h.path) {
		return fmt.Errorf("no cgroup.freeze in %s (it needs Linux 5.2): %w", h.path, ErrUnsupported)
	}
	return err
}

// frozen reads cgroup.events: cgroup.freeze is a request, "frozen 1" says
// every task has stopped.
func (h *v2) frozen() (bool, error) {
	ev, err := readKeyed(h.path, "cgroup.events")
	return ev["frozen"] == 1, err
}

// kill writes cgroup.kill (Linux 5.14), which kills every process of the
// cgroup, including those forking meanwhile.
func (h *v2) kill() (bool, error) {
	if !exists(filepath.Join(h.path, "cgroup.kill")) {
		return false, nil
	}
	return true, writeFile(h.path, "cgroup.kill", "1")
}
