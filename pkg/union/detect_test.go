package union_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/layerctl/layerctl/pkg/union"
	"github.com/layerctl/layerctl/pkg/whiteout"
)

func TestDefaultDriver(t *testing.T) {
	for _, tc := range []struct {
		f    union.Features
		want string
	}{
		{union.Features{Overlay: true, AUFS: true}, union.Overlay},
		{union.Features{AUFS: true}, union.AUFS},
		{union.Features{}, union.VFS},
	} {
		if got := tc.f.Default(); got != tc.want {
			t.Errorf("%+v: Default() = %s, want %s", tc.f, got, tc.want)
		}
	}
}

func TestSupported(t *testing.T) {
	none := union.Features{}
	for _, tc := range []struct {
		driver string
		f      union.Features
		ok     bool
		says   string
	}{
		{union.Overlay, union.Features{Overlay: true}, true, ""},
		{union.Overlay, none, false, "--driver vfs"},
		{union.AUFS, union.Features{AUFS: true}, true, ""},
		{union.AUFS, none, false, "--driver overlay"},
		{union.VFS, none, true, ""},
		{"btrfs", none, false, "unknown driver"},
	} {
		err := tc.f.Supported(tc.driver)
		if (err == nil) != tc.ok || err != nil && !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s on %+v: err = %v, want ok=%v saying %q", tc.driver, tc.f, err, tc.ok, tc.says)
		}
		if !tc.ok && tc.driver != "btrfs" && !errors.Is(err, union.ErrUnavailable) {
			t.Errorf("%s: %v is not ErrUnavailable", tc.driver, err)
		}
		if _, nerr := union.New(tc.driver, tc.f); (nerr == nil) != tc.ok {
			t.Errorf("New(%s) = %v, want ok=%v", tc.driver, nerr, tc.ok)
		}
	}
}

// Overlay stores keep whiteouts as 0/0 devices and trusted.* xattrs, which
// only root can make; aufs and vfs keep the tar's files.
func TestWhiteoutFormat(t *testing.T) {
	wantOverlay := whiteout.FormatOverlay
	if os.Geteuid() != 0 {
		wantOverlay = whiteout.FormatOverlayUser
	}
	for driver, want := range map[string]whiteout.Format{union.Overlay: wantOverlay, union.AUFS: whiteout.FormatFiles, union.VFS: whiteout.FormatFiles} {
		if got, err := union.WhiteoutFormat(driver); err != nil || got != want {
			t.Errorf("WhiteoutFormat(%s) = %s, %v; want %s", driver, got, err, want)
		}
	}
	if _, err := union.WhiteoutFormat("zfs"); err == nil {
		t.Error("WhiteoutFormat(zfs) gave no error")
	}
}

func TestDetect(t *testing.T) {
	f := union.Detect()
	if f.Kernel == "" {
		t.Error("no kernel release")
	}
	fs, err := os.ReadFile("/proc/filesystems")
	if err != nil {
		t.Skip(err)
	}
	if want := strings.Contains(string(fs), "\toverlay\n"); f.Overlay != want {
		t.Errorf("Overlay = %v, /proc/filesystems says %v", f.Overlay, want)
	}
}

func TestBacking(t *testing.T) {
	fsType, dType, err := union.Backing(t.TempDir())
	if err != nil || fsType == "" {
		t.Fatalf("Backing = %q, %v", fsType, err)
	}
	// Every filesystem a Linux test machine keeps /tmp on reports d_type.
	if fsType == "ext4" || fsType == "tmpfs" || fsType == "btrfs" {
		if !dType {
			t.Errorf("%s reports no d_type", fsType)
		}
	}
}
