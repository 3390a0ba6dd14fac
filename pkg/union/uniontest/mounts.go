package uniontest

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/moby/sys/mountinfo"

	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/union"
)

var features = sync.OnceValue(union.Detect)

// Features is what this kernel offers, probed once per test binary.
func Features() union.Features { return features() }

// RequireRoot skips a test that mounts, chowns or writes trusted.* xattrs.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the test mounts, chowns and sets trusted.* xattrs")
	}
}

// RequireOverlay skips a test that mounts overlayfs where it cannot.
func RequireOverlay(t testing.TB) {
	t.Helper()
	RequireRoot(t)
	if err := Features().Supported(union.Overlay); err != nil {
		t.Skipf("needs overlayfs: %v", err)
	}
}

// MountsUnder lists the mount points at or below dir that the calling
// thread sees.
func MountsUnder(t testing.TB, dir string) []string {
	t.Helper()
	mounts, err := union.ThreadMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range mounts {
		out = append(out, m.Mountpoint)
	}
	return out
}

// CheckNoMounts fails the test when anything is mounted at or below dir.
func CheckNoMounts(t testing.TB, dir string) {
	t.Helper()
	if m := MountsUnder(t, dir); len(m) > 0 {
		t.Errorf("left mounted: %v", m)
	}
}

// CleanupMounts unmounts whatever is left at or below dir when the test
// ends (deepest first), so that removing the test's temp dirs never reaches
// through a mount into the layers. Call it right after making dir: cleanups
// run last registered first.
func CleanupMounts(t testing.TB, dir string) {
	t.Helper()
	t.Cleanup(func() {
		for range 100 {
			m := MountsUnder(t, dir)
			if len(m) == 0 {
				return
			}
			t.Errorf("left mounted: %s", m[len(m)-1])
			if err := union.Unmount(m[len(m)-1]); err != nil {
				t.Fatalf("clean up: %v", err)
			}
		}
	})
}

// Tmpfs mounts a private tmpfs on a fresh temp dir for the rest of the test
// and returns a directory in it. Stores of hundreds of layers are built there
// in a fraction of the time a disk filesystem's metadata updates take.
func Tmpfs(t testing.TB) string {
	t.Helper()
	RequireRoot(t)
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=1g,mode=0700"); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			t.Errorf("unmount tmpfs: %v", err)
		}
	})
	return filepath.Join(dir, "store")
}

// Perform carries out m at target and unmounts it when the test ends.
func Perform(t testing.TB, m union.Mount, target string) {
	t.Helper()
	if err := union.Perform(m, target); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := union.Unmount(target); err != nil {
			t.Errorf("clean up: %v", err)
		}
	})
}
