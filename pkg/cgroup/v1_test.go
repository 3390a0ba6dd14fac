package cgroup

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// These tests make real cgroups in the v1 hierarchies and put real
// processes in them.

const busybox = "/bin/busybox"

func requireBusybox(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(busybox); err != nil {
		t.Skipf("needs %s: %v", busybox, err)
	}
}

// killedBy tells whether a waited-for process died of signal sig.
func killedBy(cmd *exec.Cmd, sig syscall.Signal) bool {
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}

func TestV1Limits(t *testing.T) {
	requireV1(t, "cpu", "memory", "pids")
	for _, tc := range []struct {
		name string
		l    Limits
		want map[string]string // controller/file -> value
	}{
		{"none", Limits{}, map[string]string{
			"cpu/cpu.cfs_quota_us": "-1",
			"pids/pids.max":        "max",
		}},
		{"cpus", Limits{CPUs: 1.5}, map[string]string{
			"cpu/cpu.cfs_period_us": "100000",
			"cpu/cpu.cfs_quota_us":  "150000",
		}},
		{"fraction of a cpu", Limits{CPUs: 0.25}, map[string]string{
			"cpu/cpu.cfs_quota_us": "25000",
		}},
		{"memory", Limits{Memory: 32 << 20}, map[string]string{
			"memory/memory.limit_in_bytes":       "33554432",
			"memory/memory.memsw.limit_in_bytes": "33554432",
			"memory/memory.swappiness":           "0",
		}},
		{"pids", Limits{PIDs: 10}, map[string]string{
			"pids/pids.max": "10",
		}},
		{"all", Limits{CPUs: 2, Memory: 1 << 30, PIDs: 100}, map[string]string{
			"cpu/cpu.cfs_quota_us":               "200000",
			"memory/memory.limit_in_bytes":       "1073741824",
			"memory/memory.memsw.limit_in_bytes": "1073741824",
			"pids/pids.max":                      "100",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCgroup(t, tc.l)
			paths := c.Paths()
			for key, want := range tc.want {
				ctrl, file, _ := strings.Cut(key, "/")
				p := filepath.Join(paths[ctrl], file)
				if file == "memory.memsw.limit_in_bytes" && !exists(p) {
					t.Logf("no %s: the kernel does not account swap", file)
					continue
				}
				if got := readTrim(t, p); got != want {
					t.Errorf("%s = %q, want %q", p, got, want)
				}
			}
		})
	}
}

func TestV1AddMovesProcess(t *testing.T) {
	requireV1(t, "memory")
	requireBusybox(t)
	c := newCgroup(t, Limits{})
	p := start(t, c, exec.Command(busybox, "sleep", "30"))
	pid := p.cmd.Process.Pid

	// /proc/PID/cgroup lines read "ID:CONTROLLERS:PATH".
	in := map[string]string{}
	for _, line := range strings.Split(readTrim(t, "/proc/"+strconv.Itoa(pid)+"/cgroup"), "\n") {
		parts := strings.SplitN(line, ":", 3)
		for _, ctrl := range strings.Split(parts[1], ",") {
			in[ctrl] = parts[2]
		}
	}
	want := "/" + parentName + "/" + c.ID()
	for ctrl := range c.Paths() {
		if in[ctrl] != want {
			t.Errorf("pid %d is in %s:%q, want %q", pid, ctrl, in[ctrl], want)
		}
	}
	if got, err := c.Procs(); err != nil || !reflect.DeepEqual(got, []int{pid}) {
		t.Errorf("Procs = %v, %v; want [%d]", got, err, pid)
	}
}

func TestV1OOMKill(t *testing.T) {
	requireV1(t, "memory")
	const limit = 32 << 20
	c := newCgroup(t, Limits{Memory: limit})
	p := startHelper(t, c, "alloc", "100")
	if oom, err := c.OOMKilled(); err != nil || oom {
		t.Fatalf("OOMKilled before any allocation = %v, %v; want false", oom, err)
	}
	p.release(t)
	_ = p.cmd.Wait()
	if !killedBy(p.cmd, syscall.SIGKILL) {
		t.Errorf("a process allocating 100 MiB under a 32 MiB limit ended with %v, want SIGKILL; stderr: %s",
			p.cmd.ProcessState, p.stderr.String())
	}
	if oom, err := c.OOMKilled(); err != nil || !oom {
		t.Errorf("OOMKilled = %v, %v; want true", oom, err)
	}
	// The peak may pass the limit by a page or so in flight; far from 100 MiB.
	if st, err := c.Stats(); err != nil || st.MemoryPeak > limit+1<<20 {
		t.Errorf("Stats = %+v, %v; want a peak near %d", st, err, limit)
	}
}

func TestV1PidsLimit(t *testing.T) {
	requireV1(t, "pids")
	requireBusybox(t)
	const limit = 4
	c := newCgroup(t, Limits{PIDs: limit})
	// The shell is one task; each background sleep is one more.
	p := start(t, c, exec.Command(busybox, "sh", "-c",
		`read x; for i in 1 2 3 4 5 6; do `+busybox+` sleep 30 </dev/null >/dev/null 2>&1 & echo started; done`))
	p.release(t)
	out, _ := io.ReadAll(p.stdout)
	_ = p.cmd.Wait()
	if got := strings.Count(string(out), "started"); got != limit-1 {
		t.Errorf("the shell started %d children, want %d", got, limit-1)
	}
	if p.cmd.ProcessState.Success() || !strings.Contains(p.stderr.String(), "fork") {
		t.Errorf("the shell ended with %v and stderr %q, want a failed fork", p.cmd.ProcessState, p.stderr.String())
	}
	if st, err := c.Stats(); err != nil || st.PIDs != limit-1 {
		t.Errorf("Stats = %+v, %v; want %d pids (the sleeps)", st, err, limit-1)
	}
	ev, err := readKeyed(c.Paths()["pids"], "pids.events")
	if err != nil || ev["max"] == 0 {
		t.Errorf("pids.events = %v, %v; want max > 0", ev, err)
	}
}

func TestV1FreezeThaw(t *testing.T) {
	requireV1(t, "freezer")
	c := newCgroup(t, Limits{})
	p := startHelper(t, c, "tick")
	var ticks atomic.Int64
	go func() {
		buf := make([]byte, 512)
		for {
			n, err := p.stdout.Read(buf)
			ticks.Add(int64(n))
			if err != nil {
				return
			}
		}
	}()
	p.release(t)
	if !waitFor(5*time.Second, func() bool { return ticks.Load() > 10 }) {
		t.Fatal("the helper does not tick")
	}

	if err := c.Freeze(); err != nil {
		t.Fatal(err)
	}
	if got := readTrim(t, filepath.Join(c.Paths()["freezer"], "freezer.state")); got != "FROZEN" {
		t.Errorf("freezer.state = %q after Freeze, want FROZEN", got)
	}
	if frozen, err := c.Frozen(); err != nil || !frozen {
		t.Errorf("Frozen after Freeze = %v, %v; want true", frozen, err)
	}
	time.Sleep(20 * time.Millisecond) // what was written before the freeze
	frozenAt := ticks.Load()
	time.Sleep(200 * time.Millisecond)
	if n := ticks.Load(); n != frozenAt {
		t.Errorf("a frozen process ticked %d times", n-frozenAt)
	}

	if err := c.Thaw(); err != nil {
		t.Fatal(err)
	}
	if !waitFor(5*time.Second, func() bool { return ticks.Load() > frozenAt+10 }) {
		t.Errorf("the process does not tick after Thaw")
	}
	if frozen, err := c.Frozen(); err != nil || frozen {
		t.Errorf("Frozen after Thaw = %v, %v; want false", frozen, err)
	}
}

func TestV1CPUQuotaThrottles(t *testing.T) {
	requireV1(t, "cpu", "cpuacct")
	c := newCgroup(t, Limits{CPUs: 0.1})
	p := startHelper(t, c, "spin")
	p.release(t)
	const run = 500 * time.Millisecond
	time.Sleep(run)
	st, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	// A tenth of a CPU for half a second is 50 ms, give or take a period's quota.
	if st.CPUUsage <= 0 || st.CPUUsage > 150*time.Millisecond {
		t.Errorf("a spinning process limited to 0.1 CPU used %v in %v", st.CPUUsage, run)
	}
	cs, err := readKeyed(c.Paths()["cpu"], "cpu.stat")
	if err != nil || cs["nr_throttled"] == 0 {
		t.Errorf("cpu.stat = %v, %v; want nr_throttled > 0", cs, err)
	}
}

func TestV1Stats(t *testing.T) {
	requireV1(t, "memory", "pids", "cpuacct")
	c := newCgroup(t, Limits{Memory: 256 << 20})
	p := startHelper(t, c, "alloc", "16")
	p.release(t)
	if line, err := bufio.NewReader(p.stdout).ReadString('\n'); err != nil || line != "allocated\n" {
		t.Fatalf("helper said %q, %v", line, err)
	}
	st, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.MemoryUsage < 16<<20 || st.MemoryPeak < st.MemoryUsage || st.PIDs < 1 || st.CPUUsage <= 0 {
		t.Errorf("Stats = %+v, want >= 16 MiB used, a peak at least that, >= 1 pid, some CPU time", st)
	}
	p.stdin.Close()
	if err := p.cmd.Wait(); err != nil {
		t.Errorf("helper: %v; stderr: %s", err, p.stderr.String())
	}
}

func TestV1KillAndRemove(t *testing.T) {
	requireV1(t, "memory", "freezer")
	requireBusybox(t)
	c := newCgroup(t, Limits{})
	p := start(t, c, exec.Command(busybox, "sh", "-c",
		`read x; `+busybox+` sleep 30 & `+busybox+` sleep 30 & wait`))
	p.release(t)
	if !waitFor(5*time.Second, func() bool { pids, _ := c.Procs(); return len(pids) == 3 }) {
		t.Fatal("the shell and its two children never showed up in the cgroup")
	}

	if err := c.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
	if !killedBy(p.cmd, syscall.SIGKILL) {
		t.Errorf("the shell ended with %v, want SIGKILL", p.cmd.ProcessState)
	}
	if err := c.Remove(); err != nil {
		t.Fatal(err)
	}
	for ctrl, dir := range c.Paths() {
		if exists(dir) {
			t.Errorf("Remove left the %s cgroup %s", ctrl, dir)
		}
	}
	if _, err := Open(c.ID()); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open after Remove = %v, want ErrNotFound", err)
	}
}

func TestV1RemoveWhileBusy(t *testing.T) {
	requireV1(t, "memory")
	requireBusybox(t)
	c := newCgroup(t, Limits{})
	start(t, c, exec.Command(busybox, "sleep", "30"))
	c.o.removeTimeout = 50 * time.Millisecond
	if err := c.Remove(); !errors.Is(err, ErrInUse) {
		t.Errorf("Remove with a live process = %v, want ErrInUse", err)
	}
	for ctrl, dir := range c.Paths() {
		if !exists(dir) {
			t.Errorf("a failed Remove deleted the %s cgroup %s", ctrl, dir)
		}
	}
}

func TestV1RemoveEmpty(t *testing.T) {
	requireV1(t, "memory")
	requireBusybox(t)
	c := newCgroup(t, Limits{})
	p := start(t, c, exec.Command(busybox, "sh", "-c", "read x; exit 0"))
	began := time.Now()
	if err := c.RemoveEmpty(); !errors.Is(err, ErrInUse) {
		t.Errorf("RemoveEmpty with a live process = %v, want ErrInUse", err)
	}
	if waited := time.Since(began); waited > time.Second {
		t.Errorf("RemoveEmpty with a live process took %s: it must not wait", waited)
	}
	for ctrl, dir := range c.Paths() {
		if !exists(dir) {
			t.Errorf("a failed RemoveEmpty deleted the %s cgroup %s", ctrl, dir)
		}
	}
	p.stdin.Close()
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	if err := c.RemoveEmpty(); err != nil {
		t.Fatalf("RemoveEmpty once its process was reaped = %v", err)
	}
	for ctrl, dir := range c.Paths() {
		if exists(dir) {
			t.Errorf("RemoveEmpty left the %s cgroup %s", ctrl, dir)
		}
	}
}

func TestV1CreateFailureLeavesNothing(t *testing.T) {
	requireV1(t, "memory", "pids")
	for _, tc := range []struct {
		name   string
		first  bool // a cgroup of that id exists already
		l      Limits
		err    error // nil: any error
		remain bool  // the directories exist after the failure
	}{
		{name: "kernel refuses a limit", l: Limits{Memory: 32 << 20, PIDs: 1 << 40}},
		{name: "id taken", first: true, err: ErrExists, remain: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := testID(t)
			if tc.first {
				newCgroup(t, Limits{})
			}
			c, err := Create(id, tc.l)
			if err == nil {
				_ = c.Remove()
				t.Fatalf("Create(%+v) succeeded", tc.l)
			}
			if tc.err != nil && !errors.Is(err, tc.err) {
				t.Errorf("Create = %v, want %v", err, tc.err)
			}
			for _, ctrl := range mountedV1(DefaultRoot) {
				if d := leafDir(mountDir(DefaultRoot, ctrl), id); exists(d) != tc.remain {
					t.Errorf("after the failed Create, %s exists: %v, want %v", d, exists(d), tc.remain)
				}
			}
		})
	}
}

func TestV1Open(t *testing.T) {
	requireV1(t, "memory")
	c := newCgroup(t, Limits{Memory: 64 << 20})
	o, err := Open(c.ID())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(o.Paths(), c.Paths()) || o.Mode() != V1 {
		t.Errorf("Open: %v %v, want %v v1", o.Mode(), o.Paths(), c.Paths())
	}
	if _, err := Open(c.ID() + "-none"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open of an unknown id = %v, want ErrNotFound", err)
	}
}
