package container_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/container"
	"github.com/layerctl/layerctl/pkg/union"
	"github.com/layerctl/layerctl/pkg/union/uniontest"
)

// noDTypeFS mounts a small ext4 made without the filetype feature, whose
// directory entries carry no d_type, and unmounts it (freeing its loop
// device) when the test ends.
func noDTypeFS(t *testing.T) string {
	t.Helper()
	uniontest.RequireRoot(t)
	if _, err := exec.LookPath("mkfs.ext4"); err != nil {
		t.Skip("needs mkfs.ext4 (e2fsprogs)")
	}
	dir := t.TempDir()
	img, mnt := filepath.Join(dir, "fs.img"), filepath.Join(dir, "mnt")
	if err := os.Mkdir(mnt, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", "-O", "^filetype", img, "16M").CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v: %s", err, out)
	}
	// A loop mount with autoclear: the loop device goes with the unmount.
	if out, err := exec.Command("mount", "-o", "loop", img, mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot loop-mount an ext4 image: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(mnt, 0); err != nil {
			t.Errorf("unmount %s: %v", mnt, err)
		}
	})
	return mnt
}

// Overlay is refused, with what to do, on a filesystem without d_type: at
// creation, before anything is recorded, and when an overlay store already
// recorded there is opened. vfs works there.
func TestOpenRefusesOverlayWithoutDType(t *testing.T) {
	uniontest.RequireOverlay(t)
	mnt := noDTypeFS(t)
	for _, tc := range []struct {
		name   string
		opts   []container.Option
		refuse bool
	}{
		{"default driver", nil, true},
		{"overlay asked for", []container.Option{container.WithDriver(union.Overlay)}, true},
		{"vfs", []container.Option{container.WithDriver("vfs")}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := filepath.Join(mnt, tc.name)
			s, err := container.Open(root, tc.opts...)
			if !tc.refuse {
				if err != nil {
					t.Fatalf("open with vfs: %v", err)
				}
				s.Close()
				return
			}
			if err == nil {
				s.Close()
				t.Fatal("overlay store opened on a filesystem without d_type")
			}
			if !errors.Is(err, union.ErrNoDType) {
				t.Errorf("error %q does not wrap ErrNoDType", err)
			}
			for _, hint := range []string{"d_type", "--driver vfs"} {
				if !strings.Contains(err.Error(), hint) {
					t.Errorf("error %q does not say %q", err, hint)
				}
			}
			if _, err := os.Stat(filepath.Join(root, "store.json")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a refused store recorded its settings: %v", err)
			}
		})
	}
	t.Run("recorded overlay store", func(t *testing.T) {
		root := filepath.Join(mnt, "recorded")
		if err := os.MkdirAll(root, 0o700); err != nil {
			t.Fatal(err)
		}
		// As if created elsewhere and copied here.
		if err := os.WriteFile(filepath.Join(root, "store.json"), []byte(`{"driver":"overlay","whiteout":"overlay"}`), 0o600); err != nil {
			t.Fatal(err)
		}
		if s, err := container.Open(root); !errors.Is(err, union.ErrNoDType) {
			if err == nil {
				s.Close()
			}
			t.Errorf("open of a recorded overlay store without d_type: %v, want ErrNoDType", err)
		}
	})
}
