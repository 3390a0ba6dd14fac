package main

// Helpers of the run, exec and lifecycle tests: a store holding the busybox
// image of testdata/mkimage.sh, and a cleanup that removes every container
// a test made and then checks that nothing of them is left: no mount under
// the store, no cgroup, no process.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/cgroup"
	"github.com/layerctl/layerctl/pkg/image/registrytest"
	"github.com/layerctl/layerctl/pkg/union/uniontest"
)

// busyboxImage is the image name the tests run.
const busyboxImage = "busybox"

// runProbe says once per test binary why containers cannot run here.
var runProbe = sync.OnceValue(func() string {
	if os.Geteuid() != 0 {
		return "needs root to mount a rootfs and make namespaces and cgroups"
	}
	if _, err := exec.LookPath("umoci"); err != nil {
		return "umoci not found (apt-get install umoci): it builds the busybox image"
	}
	if err := exec.Command("ldd", "/bin/busybox").Run(); err == nil {
		return "/bin/busybox is dynamically linked (apt-get install busybox-static)"
	} else if _, err := os.Stat("/bin/busybox"); err != nil {
		return "/bin/busybox is missing (apt-get install busybox-static)"
	}
	// The namespaces of a container, tried on the host's busybox.
	probe := exec.Command("/bin/busybox", "true")
	probe.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID |
		syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC | syscall.CLONE_NEWNET}
	if err := probe.Run(); err != nil {
		return "namespaces unavailable: " + err.Error()
	}
	if _, err := cgroup.Detect(); err != nil {
		return err.Error()
	}
	return ""
})

// requireRun skips a test that runs containers where they cannot run.
func requireRun(t *testing.T) {
	t.Helper()
	if reason := runProbe(); reason != "" {
		t.Skip(reason)
	}
}

// busyboxLayout builds the busybox OCI layout once per test binary, in
// TestMain's directory, which goes with the binary.
var busyboxLayout = sync.OnceValues(func() (string, error) {
	return registrytest.BuildImage(filepath.Dir(binPath), "busybox")
})

// box is one test's store with the busybox image in it.
type box struct {
	t    *testing.T
	root string
	mu   sync.Mutex
	ids  map[string]bool // container IDs or unique ID prefixes seen
	pids map[int]uint64  // container processes seen, with their start times
}

// newBox makes a store with busybox pulled into it. When the test ends,
// every container in the store is removed with rm -f, and then nothing of
// them may be left.
func newBox(t *testing.T) *box {
	t.Helper()
	requireRun(t)
	dir, err := busyboxLayout()
	if err != nil {
		t.Fatal(err)
	}
	b := &box{t: t, root: newRoot(t), ids: map[string]bool{}, pids: map[int]uint64{}}
	// Registered first, so it runs after the rm -f cleanup: it reports a
	// leftover mount and unmounts it, so that removing the temp dir never
	// reaches through a mount.
	uniontest.CleanupMounts(t, b.root)
	t.Cleanup(b.cleanup)
	pullID(t, b.root, "oci:"+dir+":latest", busyboxImage)
	return b
}

// run runs layerctl on the box's store.
func (b *box) run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return run(t, b.root, args...)
}

// mustRun runs layerctl on the box's store and wants exit code 0.
func (b *box) mustRun(t *testing.T, args ...string) string {
	t.Helper()
	return mustRun(t, b.root, args...)
}

// detach runs `run -d args...` and returns the ID it printed.
func (b *box) detach(t *testing.T, args ...string) string {
	t.Helper()
	out := b.mustRun(t, append([]string{"run", "-d"}, args...)...)
	id := strings.TrimSpace(out)
	if len(id) != 64 || strings.Trim(id, "0123456789abcdef") != "" {
		t.Fatalf("run -d printed %q, want a container ID", out)
	}
	b.track(id)
	return id
}

// track adds a container ID, or a unique prefix of one, to those the
// cleanup checks.
func (b *box) track(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ids[id] = true
}

// psRow is one element of `ps --format json`.
type psRow struct {
	ID     string `json:"Id"`
	Name   string
	Image  string
	Status string
	Pid    int
}

// ps lists the containers (-a: all of them) and tracks them.
func (b *box) ps(t *testing.T, all bool) []psRow {
	t.Helper()
	args := []string{"ps", "--format", "json"}
	if all {
		args = append(args, "-a")
	}
	out := b.mustRun(t, args...)
	var rows []psRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("ps --format json: %v\n%s", err, out)
	}
	for _, r := range rows {
		b.track(r.ID)
		if r.Pid > 0 {
			if start, err := startTime(r.Pid); err == nil {
				b.mu.Lock()
				b.pids[r.Pid] = start
				b.mu.Unlock()
			}
		}
	}
	return rows
}

// find is the ps -a row of the container named name.
func (b *box) find(t *testing.T, name string) (psRow, bool) {
	t.Helper()
	for _, r := range b.ps(t, true) {
		if r.Name == name || r.ID == name {
			return r, true
		}
	}
	return psRow{}, false
}

// waitStatus polls ps -a until the container's status is want (or, with
// want "", until it is gone) and fails the test after a few seconds.
func (b *box) waitStatus(t *testing.T, name, want string) psRow {
	t.Helper()
	var r psRow
	var ok bool
	for deadline := time.Now().Add(5 * time.Second); ; {
		r, ok = b.find(t, name)
		if want == "" && !ok || ok && r.Status == want {
			return r
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !ok {
		t.Fatalf("container %s: gone, want status %q", name, want)
	}
	t.Fatalf("container %s: status %q, want %q", name, r.Status, want)
	return r
}

// cleanup removes every container of the store and checks what is left.
func (b *box) cleanup() {
	t := b.t
	rows := b.ps(t, true)
	// rm -f unmounts whatever it removes: first, a container whose process
	// ended must have let go of its rootfs by itself.
	mounts := uniontest.MountsUnder(t, b.root)
	for _, r := range rows {
		merged := filepath.Join(b.root, "containers", r.ID, "merged")
		if r.Status != "running" && r.Status != "paused" && slices.Contains(mounts, merged) {
			t.Errorf("container %s (%s) still has its rootfs mounted", r.Name, r.Status)
		}
	}
	for _, r := range rows {
		if out, errOut, code := b.run(t, "rm", "-f", r.ID); code != 0 {
			t.Errorf("clean up: rm -f %s: exit %d: %s%s", r.ID, code, out, errOut)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for id := range b.ids {
		for _, d := range cgroupDirs(id) {
			t.Errorf("cgroup %s left behind (tasks: %v)", d, cgroupTasks(d))
			removeCgroupDir(d)
		}
	}
	for pid, start := range b.pids {
		if waitGone(pid, start, 2*time.Second) {
			continue
		}
		t.Errorf("container process %d still runs", pid)
		syscall.Kill(pid, syscall.SIGKILL)
	}
	// A run -d monitor names the store in its arguments. It ends on its
	// own once its container's process is gone, a moment after rm -f.
	left := processesWith(b.root)
	for deadline := time.Now().Add(5 * time.Second); len(left) > 0 && time.Now().Before(deadline); left = processesWith(b.root) {
		time.Sleep(10 * time.Millisecond)
	}
	for _, pid := range left {
		t.Errorf("process %d still runs with this test's store: %s", pid, cmdline(pid))
		syscall.Kill(pid, syscall.SIGKILL)
	}
	if left, _ := os.ReadDir(filepath.Join(b.root, "containers")); len(left) != 0 {
		t.Errorf("containers/ not empty after rm -f of all: %d entries", len(left))
	}
}

// cgroupDirs are the cgroup directories of a container ID (or ID prefix),
// in any v1 hierarchy or in a v2 tree.
func cgroupDirs(id string) []string {
	var out []string
	for _, pattern := range []string{"/sys/fs/cgroup/*/layerctl/" + id + "*", "/sys/fs/cgroup/layerctl/" + id + "*"} {
		m, _ := filepath.Glob(pattern)
		out = append(out, m...)
	}
	return out
}

// removeCgroupDir kills the processes of a leftover cgroup of this test's
// containers and removes it, so a failed test leaves nothing behind.
func removeCgroupDir(dir string) {
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, pid := range cgroupTasks(dir) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		if err := unix.Rmdir(dir); err == nil || os.IsNotExist(err) {
			return
		}
	}
}

func cgroupTasks(dir string) []int {
	b, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			pids = append(pids, n)
		}
	}
	return pids
}

// startTime is field 22 of /proc/PID/stat: with the pid, it names one
// process even if the pid is reused later.
func startTime(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if i < 0 || len(f) < 20 {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// alive tells whether the process pid that started at start still runs
// (a zombie does not).
func alive(pid int, start uint64) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s, err := startTime(pid)
	i := bytes.LastIndexByte(b, ')')
	return err == nil && s == start && i >= 0 && i+2 < len(b) && b[i+2] != 'Z'
}

// waitGone polls until the process is gone and tells whether it went.
func waitGone(pid int, start uint64, d time.Duration) bool {
	for deadline := time.Now().Add(d); alive(pid, start); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// processesWith lists the live processes whose arguments mention s.
func processesWith(s string) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if strings.Contains(cmdline(pid), s) {
			if start, err := startTime(pid); err == nil && alive(pid, start) {
				out = append(out, pid)
			}
		}
	}
	return out
}

func cmdline(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.ReplaceAll(string(bytes.TrimRight(b, "\x00")), "\x00", " ")
}

// checkOneLine asserts the shape of a failure's message: one line
// "layerctl: <what failed>: <why>" that mentions each of words.
func checkOneLine(t *testing.T, stderr string, words ...string) {
	t.Helper()
	if !strings.HasPrefix(stderr, "layerctl: ") || strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") {
		t.Errorf("stderr %q: want one line \"layerctl: <what failed>: <why>\"", stderr)
	}
	for _, w := range words {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr %q does not mention %q", stderr, w)
		}
	}
}

// cgroupFile reads a knob of a running container's cgroup: the v1 file in
// its controller's hierarchy, or the v2 file.
func cgroupFile(t *testing.T, id, controller, v1File, v2File string) string {
	t.Helper()
	cg, err := cgroup.Open(id)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(cg.Paths()["unified"], v2File)
	if cg.Mode() == cgroup.V1 {
		p = filepath.Join(cg.Paths()[controller], v1File)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// hasRow tells whether some line of out has exactly these fields.
func hasRow(out string, want ...string) bool {
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) > 0 && f[0] == want[0] && strings.Join(f[1:], " ") == strings.Join(want[1:], " ") {
			return true
		}
	}
	return false
}

// waitChild finds the process with these arguments among the children of
// the only running container's PID 1.
func waitChild(t *testing.T, b *box, args string) int {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		rows := b.ps(t, false)
		if len(rows) != 1 || rows[0].Pid <= 0 {
			continue
		}
		kids, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", rows[0].Pid, rows[0].Pid))
		for _, k := range strings.Fields(string(kids)) {
			if pid, _ := strconv.Atoi(k); cmdline(pid) == args {
				return pid
			}
		}
	}
	t.Fatalf("no %q started in the container", args)
	return 0
}
