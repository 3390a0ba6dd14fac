package cgroup

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Error categories, checked with errors.Is.
var (
	ErrNotFound    = errors.New("cgroup not found")
	ErrExists      = errors.New("cgroup already exists")
	ErrInUse       = errors.New("cgroup still has processes")
	ErrUnsupported = errors.New("not supported by this machine's cgroups")
)

// parentName is the cgroup under which every container's cgroup lives, so
// that layerctl's cgroups are easy to find and never mix with others.
const parentName = "layerctl"

// cfsPeriod is the CPU accounting period in microseconds (100 ms, the
// kernel's default); a quota of CPUs*cfsPeriod per period gives CPUs.
const cfsPeriod = 100000

// Limits are the resources a container may use. A zero field means no limit.
type Limits struct {
	CPUs   float64 // CPU time per wall-clock second, in CPUs (1.5 = one and a half)
	Memory int64   // bytes of memory, with no swap on top where the kernel accounts swap
	PIDs   int64   // tasks: processes and threads
}

// Stats is a snapshot of a cgroup's usage. A figure the kernel does not
// report for this cgroup (its controller is missing) is zero.
type Stats struct {
	MemoryUsage int64         // bytes charged now, page cache included
	MemoryPeak  int64         // highest MemoryUsage seen (kernels before 5.19 lack it on v2)
	PIDs        int64         // tasks now
	CPUUsage    time.Duration // CPU time consumed by all tasks, ever
}

// Cgroup is one container's cgroup.
type Cgroup struct {
	id string
	h  hierarchy
	o  options
}

// hierarchy is what differs between v1 and v2.
type hierarchy interface {
	mode() Mode
	paths() map[string]string
	// leaves are the cgroup's distinct directories, in creation order.
	leaves() []string
	// dir is the directory holding a controller's files.
	dir(controller string) string
	// prepare makes the shared parent and enables controllers for it.
	prepare(o *options) error
	knobs(l Limits) []knob
	stats() (Stats, error)
	oomKilled() (bool, error)
	freeze() error
	frozen() (bool, error)
	thaw() error
	// kill kills every process in one step when the kernel can; done is
	// false when it cannot.
	kill() (done bool, err error)
}

// Option configures Detect, Create and Open.
type Option func(*options)

type options struct {
	root string
	// mkdir and rmdir are replaced by tests that imitate a cgroup2 tree in
	// a plain directory, where no interface file appears by itself.
	mkdir, rmdir  func(path string) error
	freezeTimeout time.Duration
	removeTimeout time.Duration
}

// WithRoot looks for the cgroup filesystems under dir instead of DefaultRoot.
func WithRoot(dir string) Option { return func(o *options) { o.root = dir } }

func makeOptions(opts []Option) options {
	o := options{
		root:          DefaultRoot,
		mkdir:         func(p string) error { return os.Mkdir(p, 0o755) },
		rmdir:         rmdir,
		freezeTimeout: 5 * time.Second,
		removeTimeout: 5 * time.Second,
	}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// rmdir removes a directory with rmdir(2) only: cgroupfs refuses unlink,
// and the error must stay EBUSY for the retry in Remove to see it.
func rmdir(p string) error {
	if err := unix.Rmdir(p); err != nil {
		return &fs.PathError{Op: "rmdir", Path: p, Err: err}
	}
	return nil
}

// Create makes the cgroup for container id and writes its limits. On error
// it removes the directories it made.
func Create(id string, l Limits, opts ...Option) (_ *Cgroup, err error) {
	o := makeOptions(opts)
	if err := validate(id, l); err != nil {
		return nil, err
	}
	mode, err := detect(o.root)
	if err != nil {
		return nil, err
	}
	var h hierarchy
	if mode == V2 {
		h, err = newV2(o.root, id, l)
	} else {
		h, err = newV1(o.root, id, l)
	}
	if err != nil {
		return nil, fmt.Errorf("create cgroup %s: %w", id, err)
	}
	if err := h.prepare(&o); err != nil {
		return nil, fmt.Errorf("create cgroup %s: %w", id, err)
	}
	var made []string
	defer func() {
		if err != nil {
			for _, d := range slices.Backward(made) {
				_ = o.rmdir(d)
			}
		}
	}()
	for _, d := range h.leaves() {
		err := o.mkdir(d)
		for try := 0; errors.Is(err, fs.ErrNotExist) && try < 3; try++ {
			// Another process removed the empty shared parent meanwhile.
			if err = h.prepare(&o); err == nil {
				err = o.mkdir(d)
			}
		}
		if err != nil {
			if errors.Is(err, fs.ErrExist) {
				return nil, fmt.Errorf("create cgroup %s: %s: %w", id, d, ErrExists)
			}
			return nil, fmt.Errorf("create cgroup %s: %w", id, err)
		}
		made = append(made, d)
	}
	for _, k := range h.knobs(l) {
		if err := k.set(h.dir(k.controller)); err != nil {
			return nil, fmt.Errorf("create cgroup %s: %w", id, err)
		}
	}
	return &Cgroup{id: id, h: h, o: o}, nil
}

// Open returns the existing cgroup of container id.
func Open(id string, opts ...Option) (*Cgroup, error) {
	o := makeOptions(opts)
	if err := validate(id, Limits{}); err != nil {
		return nil, err
	}
	mode, err := detect(o.root)
	if err != nil {
		return nil, err
	}
	var h hierarchy
	if mode == V2 {
		h, err = openV2(o.root, id)
	} else {
		h, err = openV1(o.root, id)
	}
	if err != nil {
		return nil, fmt.Errorf("open cgroup %s: %w", id, err)
	}
	return &Cgroup{id: id, h: h, o: o}, nil
}

// validate rejects an id that is not one plain path element, as it names
// directories that Remove deletes, and limits the kernel would refuse.
func validate(id string, l Limits) error {
	if id == "" || id == "." || id == ".." || strings.ContainsAny(id, "/\x00") {
		return fmt.Errorf("cgroup id %q: want one path element", id)
	}
	switch {
	case l.CPUs < 0 || math.IsNaN(l.CPUs) || math.IsInf(l.CPUs, 0):
		return fmt.Errorf("cgroup %s: cpus %v: want a positive number", id, l.CPUs)
	case l.CPUs > 0 && cfsQuota(l.CPUs) < 1000:
		// The kernel's smallest quota is 1 ms per period.
		return fmt.Errorf("cgroup %s: cpus %v: the smallest limit is 0.01", id, l.CPUs)
	case l.Memory < 0:
		return fmt.Errorf("cgroup %s: memory %d: want a positive number of bytes", id, l.Memory)
	case l.PIDs < 0:
		return fmt.Errorf("cgroup %s: pids %d: want a positive number", id, l.PIDs)
	}
	return nil
}

func cfsQuota(cpus float64) int64 { return int64(math.Round(cpus * cfsPeriod)) }

// ID is the container id the cgroup is named after.
func (c *Cgroup) ID() string { return c.id }

// Mode is the layout the cgroup lives in.
func (c *Cgroup) Mode() Mode { return c.h.mode() }

// Paths maps each controller to the cgroup's directory in its hierarchy
// (v1), or "unified" to the one directory (v2).
func (c *Cgroup) Paths() map[string]string { return c.h.paths() }

// Add moves process pid, with all its threads, into the cgroup in every
// hierarchy.
func (c *Cgroup) Add(pid int) error {
	for _, d := range c.h.leaves() {
		if err := writeFile(d, "cgroup.procs", strconv.Itoa(pid)); err != nil {
			return fmt.Errorf("add pid %d to cgroup %s: %w", pid, c.id, err)
		}
	}
	return nil
}

// Procs lists the processes in the cgroup, from every hierarchy, sorted.
func (c *Cgroup) Procs() ([]int, error) {
	var all []int
	for _, d := range c.h.leaves() {
		pids, err := readPids(d)
		if err != nil {
			return nil, fmt.Errorf("list processes of cgroup %s: %w", c.id, err)
		}
		all = append(all, pids...)
	}
	slices.Sort(all)
	return slices.Compact(all), nil
}

// Stats reads the cgroup's current usage.
func (c *Cgroup) Stats() (Stats, error) {
	s, err := c.h.stats()
	if err != nil {
		return Stats{}, fmt.Errorf("stats of cgroup %s: %w", c.id, err)
	}
	return s, nil
}

// OOMKilled tells whether the kernel's OOM killer has killed a process of
// the cgroup because it reached its memory limit.
func (c *Cgroup) OOMKilled() (bool, error) {
	ok, err := c.h.oomKilled()
	if err != nil {
		return false, fmt.Errorf("oom state of cgroup %s: %w", c.id, err)
	}
	return ok, nil
}

// Freeze stops every process of the cgroup and returns once all are
// stopped; if they are not within a few seconds, it thaws them and fails.
func (c *Cgroup) Freeze() error {
	deadline := time.Now().Add(c.o.freezeTimeout)
	for {
		// Requesting again each round is harmless, and older v1 kernels
		// needed it for tasks that were in vfork when first asked.
		if err := c.h.freeze(); err != nil {
			return fmt.Errorf("freeze cgroup %s: %w", c.id, err)
		}
		ok, err := c.h.frozen()
		if err != nil {
			return fmt.Errorf("freeze cgroup %s: %w", c.id, err)
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			_ = c.h.thaw()
			return fmt.Errorf("freeze cgroup %s: not frozen after %s", c.id, c.o.freezeTimeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Thaw resumes the processes Freeze stopped.
func (c *Cgroup) Thaw() error {
	if err := c.h.thaw(); err != nil {
		return fmt.Errorf("thaw cgroup %s: %w", c.id, err)
	}
	return nil
}

// Frozen tells whether the cgroup's processes are all stopped by its
// freezer, as a Freeze left them (and a holder that died before its Thaw).
func (c *Cgroup) Frozen() (bool, error) {
	ok, err := c.h.frozen()
	if err != nil {
		return false, fmt.Errorf("freezer state of cgroup %s: %w", c.id, err)
	}
	return ok, nil
}

// Kill sends SIGKILL to every process of the cgroup. It does not wait for
// them to exit; Remove does.
func (c *Cgroup) Kill() error {
	done, err := c.h.kill()
	if err != nil {
		return fmt.Errorf("kill cgroup %s: %w", c.id, err)
	}
	if done {
		return nil
	}
	// Frozen processes cannot fork children that one pass over
	// cgroup.procs would miss; they take the signal when thawed.
	frozen := c.Freeze() == nil
	err = c.signalAll()
	if frozen {
		if terr := c.Thaw(); err == nil {
			err = terr
		}
	}
	return err
}

// signalAll kills the listed processes, and lists again until no new one
// shows up, for the processes forked while it worked when not frozen.
func (c *Cgroup) signalAll() error {
	sent := map[int]bool{}
	for range 100 {
		pids, err := c.Procs()
		if err != nil {
			return fmt.Errorf("kill cgroup %s: %w", c.id, err)
		}
		fresh := false
		for _, pid := range pids {
			if sent[pid] {
				continue
			}
			fresh = true
			sent[pid] = true
			if err := unix.Kill(pid, unix.SIGKILL); err != nil && err != unix.ESRCH {
				return fmt.Errorf("kill cgroup %s: pid %d: %w", c.id, pid, err)
			}
		}
		if !fresh {
			return nil
		}
	}
	return fmt.Errorf("kill cgroup %s: processes keep appearing", c.id)
}

// Remove deletes the cgroup's directories. A cgroup cannot be removed
// while it holds processes, so Remove waits a few seconds for killed ones
// to exit before it gives up with ErrInUse. It is a no-op once done.
func (c *Cgroup) Remove() error { return c.remove(c.o.removeTimeout) }

// RemoveEmpty deletes the cgroup's directories at once, without reading
// its process lists first: ErrInUse when a process is still in it (kill
// then, and Remove). A container whose PID 1 was reaped is empty: the
// kernel ends every other process of its PID namespace first.
func (c *Cgroup) RemoveEmpty() error { return c.remove(0) }

func (c *Cgroup) remove(wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for _, d := range slices.Backward(c.h.leaves()) {
		for {
			err := c.o.rmdir(d)
			if err == nil || errors.Is(err, fs.ErrNotExist) {
				break
			}
			if !errors.Is(err, unix.EBUSY) {
				return fmt.Errorf("remove cgroup %s: %w", c.id, err)
			}
			if !time.Now().Before(deadline) {
				return fmt.Errorf("remove cgroup %s: %s: %w", c.id, d, ErrInUse)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	// The shared parent goes with its last child, so a host without
	// containers keeps no layerctl cgroups; with other children it stays.
	for _, d := range c.h.leaves() {
		_ = c.o.rmdir(filepath.Dir(d))
	}
	return nil
}

// ensureDir makes a shared parent cgroup unless it exists; another
// layerctl process may make it at the same moment.
func ensureDir(o *options, p string) error {
	if exists(p) {
		return nil
	}
	if err := o.mkdir(p); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return nil
}

// leafDir is where container id's cgroup lives under a hierarchy's mount.
func leafDir(mount, id string) string { return filepath.Join(mount, parentName, id) }
