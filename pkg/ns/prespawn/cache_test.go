package prespawn

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestEscapeLowerDir(t *testing.T) {
	for in, want := range map[string]string{
		"/var/lib/layerctl/bin/ab": "/var/lib/layerctl/bin/ab",
		"/a:b/c":                   `/a\:b/c`,
		`/a\b:`:                    `/a\\b\:`,
	} {
		if got := escapeLowerDir(in); got != want {
			t.Errorf("escapeLowerDir(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIsDigest(t *testing.T) {
	for s, want := range map[string]bool{
		strings.Repeat("0a", 32): true,
		strings.Repeat("0A", 32): false,
		strings.Repeat("a", 63):  false,
		strings.Repeat("g", 64):  false,
		"empty":                  false,
	} {
		if got := IsDigest(s); got != want {
			t.Errorf("IsDigest(%q) = %v, want %v", s, got, want)
		}
	}
}

// requireOverlay skips where a sealed overlay cannot be mounted (no root,
// no overlayfs or no new mount API).
func requireOverlay(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount an overlay")
	}
	fd, err := SealedOverlay(t.TempDir(), t.TempDir(), ".")
	if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.ENODEV) {
		t.Skipf("no overlayfs through the new mount API here: %v", err)
	}
	if err == nil {
		unix.Close(fd)
	}
}

// A file seen through a sealed overlay runs and reads as itself, and
// nothing done through its /proc path reaches the file on disk.
func TestSealedOverlay(t *testing.T) {
	requireOverlay(t)
	dir, empty := t.TempDir(), t.TempDir()
	// An ELF: a script run through /proc/self/fd would find its fd closed.
	body, err := os.ReadFile("/bin/echo")
	if err != nil {
		t.Skip(err)
	}
	prog := filepath.Join(dir, "prog")
	if err := os.WriteFile(prog, body, 0o755); err != nil {
		t.Fatal(err)
	}
	fd, err := SealedOverlay(dir, empty, "prog")
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if fd < highFD {
		t.Errorf("fd %d, want one at %d or above", fd, highFD)
	}
	if flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil || flags&unix.FD_CLOEXEC == 0 {
		t.Errorf("fd flags %#x (%v), want close-on-exec", flags, err)
	}
	path := fmt.Sprintf("/proc/self/fd/%d", fd)
	if out, err := exec.Command(path, "ran through the overlay").Output(); err != nil || string(out) != "ran through the overlay\n" {
		t.Fatalf("running it: %q, %v", out, err)
	}
	if got, err := os.ReadFile(path); err != nil || string(got) != string(body) {
		t.Fatalf("reading it: %d bytes (%v), want the file's %d", len(got), err, len(body))
	}
	if err := os.WriteFile(path, []byte("rewritten"), 0o755); !errors.Is(err, unix.EROFS) {
		t.Errorf("writing it: %v, want EROFS", err)
	}
	if err := os.Chmod(path, 0o4777); !errors.Is(err, unix.EROFS) {
		t.Errorf("chmod: %v, want EROFS", err)
	}
	if err := unix.Truncate(path, 0); !errors.Is(err, unix.EROFS) {
		t.Errorf("truncate: %v, want EROFS", err)
	}
	fi, err := os.Stat(prog)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(prog); string(got) != string(body) || fi.Mode().Perm() != 0o755 {
		t.Errorf("the file on disk changed: %d bytes, mode %o", len(got), fi.Mode().Perm())
	}
	if _, err := SealedOverlay(dir, empty, "missing"); err == nil {
		t.Error("a missing file opened")
	}
}

// The store's copy counts only when it is a file of the program's size.
func TestCachedProgram(t *testing.T) {
	requireOverlay(t)
	saved, savedDigest := Program, programDigest
	t.Cleanup(func() { Program, programDigest = saved, savedDigest })
	Program = inFile
	sum := sha256.Sum256(Program)
	programDigest = fmt.Sprintf("%x", sum) + "\n" // as make build writes it

	cache := CacheDir(t.TempDir())
	if _, err := cachedProgram(cache); err == nil {
		t.Fatal("a copy found in an empty store")
	}
	entry := ProgramEntry(cache)
	if entry != filepath.Join(cache, fmt.Sprintf("%x", sum)) {
		t.Fatalf("entry %s, want the digest's dir in %s", entry, cache)
	}
	for _, d := range []string{entry, EmptyDir(cache)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(entry, Arg0)
	if err := os.WriteFile(file, Program[:10], 0o555); err != nil {
		t.Fatal(err)
	}
	if _, err := cachedProgram(cache); err == nil {
		t.Error("a copy of another size taken for the program")
	}
	if err := os.WriteFile(file, Program, 0o555); err != nil {
		t.Fatal(err)
	}
	fd, err := cachedProgram(cache)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if got, err := os.ReadFile(fmt.Sprintf("/proc/self/fd/%d", fd)); err != nil || string(got) != string(Program) {
		t.Fatalf("the copy through the overlay reads %d bytes (%v), want the program's %d", len(got), err, len(Program))
	}
}
