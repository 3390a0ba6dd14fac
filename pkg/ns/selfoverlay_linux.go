package ns

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/ns/prespawn"
)

// sealedOverlay opens the binary name links to (/proc/self/exe) through a
// sealed overlay of its directory (prespawn.SealedOverlay): it can be run
// and read, not changed. The caller falls back to sealedCopy.
func sealedOverlay(name string) (int, error) {
	exe, err := os.Readlink(name)
	if err != nil {
		return -1, fmt.Errorf("seal self: %w", err)
	}
	var running unix.Stat_t
	if err := unix.Stat(name, &running); err != nil {
		return -1, fmt.Errorf("seal self: %w", err)
	}
	dir, base := filepath.Split(exe)
	// The overlay's second lower layer: an empty dir, gone once mounted.
	empty, err := os.MkdirTemp("", "layerctl-exe-")
	if err != nil {
		return -1, fmt.Errorf("seal self: %w", err)
	}
	defer os.Remove(empty)
	fd, err := prespawn.SealedOverlay(dir, empty, base)
	if err != nil {
		return -1, fmt.Errorf("seal self: %w", err)
	}
	// The very file this process runs, not one renamed over it meanwhile:
	// overlayfs keeps a lower file's inode number.
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG ||
		st.Ino != running.Ino || st.Size != running.Size || st.Mtim != running.Mtim {
		unix.Close(fd)
		return -1, fmt.Errorf("seal self: %s in the overlay is not the running binary", base)
	}
	return fd, nil
}
