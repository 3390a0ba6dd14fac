package cgroup

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fakeV2 imitates a cgroup2 tree in a temp dir: the root offers
// controllers, and a mkdir fills the new directory with the interface files
// the kernel would show, given what its parent enables. It cannot imitate
// the kernel's reactions to writes, so it serves format checks only.
type fakeV2 struct {
	root string
	swap bool // the kernel accounts swap: memory.swap.max exists
}

func newFakeV2(t *testing.T, controllers string, swap bool) *fakeV2 {
	f := &fakeV2{root: t.TempDir(), swap: swap}
	f.write(t, "", map[string]string{
		"cgroup.controllers":     controllers,
		"cgroup.subtree_control": "",
		"cgroup.procs":           "",
	})
	return f
}

func (f *fakeV2) write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, v := range files {
		if err := os.WriteFile(filepath.Join(f.root, dir, name), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func (f *fakeV2) mkdir(p string) error {
	if err := os.Mkdir(p, 0o755); err != nil {
		return err
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(p), "cgroup.subtree_control"))
	if err != nil {
		return err
	}
	on := strings.Fields(strings.ReplaceAll(string(b), "+", ""))
	files := map[string]string{
		"cgroup.controllers": strings.Join(on, " "), "cgroup.subtree_control": "",
		"cgroup.procs": "", "cgroup.events": "populated 0\nfrozen 0\n", "cgroup.freeze": "0",
		"cgroup.kill": "", "cpu.stat": "usage_usec 0\nuser_usec 0\nsystem_usec 0\n",
	}
	for _, c := range on {
		switch c {
		case "cpu":
			files["cpu.max"] = "max 100000"
		case "memory":
			files["memory.max"] = "max"
			files["memory.current"] = "0"
			files["memory.events"] = "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n"
			if f.swap {
				files["memory.swap.max"] = "max"
			}
		case "pids":
			files["pids.max"] = "max"
			files["pids.current"] = "0"
		}
	}
	for name, v := range files {
		if err := os.WriteFile(filepath.Join(p, name), []byte(v), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// opts points the package at the fake tree and its mkdir; rmdir removes
// the files the fake kernel made along with the directory.
func (f *fakeV2) opts() []Option {
	return []Option{WithRoot(f.root), func(o *options) {
		o.mkdir = f.mkdir
		o.rmdir = func(p string) error {
			if _, err := os.Stat(p); err != nil {
				return err
			}
			return os.RemoveAll(p)
		}
		o.freezeTimeout = 100 * time.Millisecond
	}}
}

// TestV2CreateFiles checks the files Create writes on v2 for each limit.
func TestV2CreateFiles(t *testing.T) {
	for _, tc := range []struct {
		name        string
		controllers string
		swap        bool
		l           Limits
		want        map[string]string // path under root -> content; "" for absent
		err         error
	}{
		{name: "no limits enables memory and pids only", controllers: "cpuset cpu io memory pids", swap: true,
			want: map[string]string{
				"cgroup.subtree_control":          "+memory +pids",
				"layerctl/cgroup.subtree_control": "+memory +pids",
				"layerctl/c1/memory.max":          "max",
				"layerctl/c1/pids.max":            "max",
				"layerctl/c1/cpu.max":             "",
			}},
		{name: "all limits", controllers: "cpu memory pids", swap: true,
			l: Limits{CPUs: 1.5, Memory: 32 << 20, PIDs: 10},
			want: map[string]string{
				"cgroup.subtree_control":          "+cpu +memory +pids",
				"layerctl/cgroup.subtree_control": "+cpu +memory +pids",
				"layerctl/c1/cpu.max":             "150000 100000",
				"layerctl/c1/memory.max":          "33554432",
				"layerctl/c1/memory.swap.max":     "0",
				"layerctl/c1/pids.max":            "10",
			}},
		{name: "no swap accounting", controllers: "memory", swap: false,
			l: Limits{Memory: 1 << 20},
			want: map[string]string{
				"layerctl/c1/memory.max":      "1048576",
				"layerctl/c1/memory.swap.max": "",
			}},
		{name: "missing cpu controller", controllers: "memory pids", l: Limits{CPUs: 1},
			want: map[string]string{"layerctl/c1": ""}, err: ErrUnsupported},
		{name: "missing pids controller", controllers: "cpu memory", l: Limits{PIDs: 1},
			want: map[string]string{"layerctl/c1": ""}, err: ErrUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeV2(t, tc.controllers, tc.swap)
			c, err := Create("c1", tc.l, f.opts()...)
			if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("Create = %v, want %v", err, tc.err)
			}
			if err == nil && c.Mode() != V2 {
				t.Errorf("Mode = %v, want v2", c.Mode())
			}
			for p, want := range tc.want {
				path := filepath.Join(f.root, p)
				if want == "" {
					if exists(path) {
						t.Errorf("%s exists, want it absent", p)
					}
				} else if got := readTrim(t, path); got != want {
					t.Errorf("%s = %q, want %q", p, got, want)
				}
			}
		})
	}
}

// TestV2Lifecycle walks one cgroup through the API over the fake tree.
func TestV2Lifecycle(t *testing.T) {
	f := newFakeV2(t, "cpu memory pids", true)
	c, err := Create("c1", Limits{Memory: 64 << 20}, f.opts()...)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(f.root, "layerctl", "c1")
	if got, want := c.Paths(), map[string]string{"unified": dir}; !reflect.DeepEqual(got, want) {
		t.Errorf("Paths = %v, want %v", got, want)
	}
	if _, err := Create("c1", Limits{}, f.opts()...); !errors.Is(err, ErrExists) {
		t.Errorf("second Create = %v, want ErrExists", err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("a failed second Create removed the first one's directory: %v", err)
	}

	c, err = Open("c1", f.opts()...)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Add(4242); err != nil {
		t.Fatal(err)
	}
	if got := readTrim(t, filepath.Join(dir, "cgroup.procs")); got != "4242" {
		t.Errorf("cgroup.procs = %q, want 4242", got)
	}

	// What the kernel would show after some use.
	f.write(t, "layerctl/c1", map[string]string{
		"memory.current": "1234\n", "memory.peak": "5678\n", "pids.current": "3\n",
		"cpu.stat":      "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n",
		"memory.events": "low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\n",
		"cgroup.events": "populated 1\nfrozen 1\n",
	})
	st, err := c.Stats()
	if want := (Stats{MemoryUsage: 1234, MemoryPeak: 5678, PIDs: 3, CPUUsage: 2500 * time.Microsecond}); err != nil || st != want {
		t.Errorf("Stats = %+v, %v; want %+v", st, err, want)
	}
	if oom, err := c.OOMKilled(); err != nil || !oom {
		t.Errorf("OOMKilled = %v, %v; want true", oom, err)
	}
	if frozen, err := c.Frozen(); err != nil || !frozen {
		t.Errorf("Frozen = %v, %v; want true", frozen, err)
	}

	for _, step := range []struct {
		name       string
		do         func() error
		file, want string
	}{
		{"freeze", c.Freeze, "cgroup.freeze", "1"},
		{"thaw", c.Thaw, "cgroup.freeze", "0"},
		{"kill", c.Kill, "cgroup.kill", "1"},
	} {
		if err := step.do(); err != nil {
			t.Errorf("%s: %v", step.name, err)
		}
		if got := readTrim(t, filepath.Join(dir, step.file)); got != step.want {
			t.Errorf("after %s, %s = %q, want %q", step.name, step.file, got, step.want)
		}
	}

	f.write(t, "layerctl/c1", map[string]string{"cgroup.events": "populated 1\nfrozen 0\n"})
	if err := c.Freeze(); err == nil {
		t.Error("Freeze succeeded though cgroup.events never said frozen")
	} else if got := readTrim(t, filepath.Join(dir, "cgroup.freeze")); got != "0" {
		t.Errorf("after a failed Freeze, cgroup.freeze = %q, want 0 (thawed again)", got)
	}

	if err := c.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Remove, %s: %v", dir, err)
	}
	if err := c.Remove(); err != nil {
		t.Errorf("second Remove: %v", err)
	}
	if _, err := Open("c1", f.opts()...); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open after Remove = %v, want ErrNotFound", err)
	}
}

func TestV2OOMKilledWithoutMemoryController(t *testing.T) {
	f := newFakeV2(t, "cpu", false)
	c, err := Create("c1", Limits{}, f.opts()...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.OOMKilled(); !errors.Is(err, ErrUnsupported) {
		t.Errorf("OOMKilled = %v, want ErrUnsupported", err)
	}
}
