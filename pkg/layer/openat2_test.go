package layer

import (
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A rename anywhere while openat2 resolves a ".." under RESOLVE_IN_ROOT
// makes the kernel answer EAGAIN; Openat2 asks again until it gets an
// answer.
func TestOpenat2RetriesRaces(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"a", "b"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	root, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(root)
	var stop atomic.Bool
	done := make(chan struct{})
	go func() { // renames, elsewhere in the tree, for the whole test
		defer close(done)
		p, q := filepath.Join(dir, "r1"), filepath.Join(dir, "r2")
		os.WriteFile(p, nil, 0o644)
		for !stop.Load() {
			os.Rename(p, q)
			p, q = q, p
		}
	}()
	defer func() { stop.Store(true); <-done }()
	how := &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT}
	plainEAGAIN := 0
	for deadline := time.Now().Add(300 * time.Millisecond); time.Now().Before(deadline); {
		fd, err := unix.Openat2(root, "a/../b", how)
		if err == unix.EAGAIN {
			plainEAGAIN++
		} else if err == nil {
			unix.Close(fd)
		}
		fd, err = Openat2(root, "a/../b", how)
		if err != nil {
			t.Fatalf("Openat2 a/../b during renames: %v", err)
		}
		unix.Close(fd)
	}
	t.Logf("plain openat2 answered EAGAIN %d times", plainEAGAIN)
}
