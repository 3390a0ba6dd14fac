package cgroup

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// touch makes files, and their directories, under root.
func touch(t *testing.T, root string, files ...string) {
	t.Helper()
	for _, f := range files {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		name   string
		files  []string
		want   Mode   // 0: ErrUnsupported
		layout string // what Layout tells people
	}{
		{"v2", []string{"cgroup.controllers", "cgroup.procs"}, V2, "v2"},
		{"hybrid", []string{"cpu/cgroup.procs", "memory/cgroup.procs", "pids/cgroup.procs",
			"unified/cgroup.controllers", "unified/cgroup.procs"}, V1, "hybrid"},
		{"v1, memory only", []string{"memory/cgroup.procs"}, V1, "v1"},
		{"only a cgroup2 at unified", []string{"unified/cgroup.controllers"}, 0, "none"},
		{"nothing mounted", nil, 0, "none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			touch(t, root, tc.files...)
			if got := Layout(WithRoot(root)); got != tc.layout {
				t.Errorf("Layout = %q, want %q", got, tc.layout)
			}
			got, err := Detect(WithRoot(root))
			if tc.want == 0 {
				if !errors.Is(err, ErrUnsupported) {
					t.Errorf("Detect = %v, %v; want ErrUnsupported", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("Detect = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

// TestDetectThisMachine checks the file-based answer against the
// filesystem type of the real root.
func TestDetectThisMachine(t *testing.T) {
	var st unix.Statfs_t
	if err := unix.Statfs(DefaultRoot, &st); err != nil {
		t.Skipf("no %s: %v", DefaultRoot, err)
	}
	mode, err := Detect()
	if err != nil {
		t.Skipf("no usable cgroups here: %v", err)
	}
	if want := st.Type == unix.CGROUP2_SUPER_MAGIC; (mode == V2) != want {
		t.Errorf("Detect = %v, but %s is cgroup2: %v", mode, DefaultRoot, want)
	}
	t.Logf("this machine's cgroups: %v", mode)
}
