package build

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// digestRun is one build's COPY digest of the whole context: the key, the
// files it read and what it keeps for the next build.
type digestRun struct {
	key    string
	hashed int
	keep   []byte
}

// digestContext digests dir as `COPY . /` would, with what an earlier build
// kept (nil for nothing). start is the build's start time.
func digestContext(t *testing.T, dir string, kept []byte, start time.Time) digestRun {
	return digestSources(t, dir, kept, start, ".")
}

// digestSources digests the sources of a COPY in dir.
func digestSources(t *testing.T, dir string, kept []byte, start time.Time, sources ...string) digestRun {
	t.Helper()
	b := &builder{opts: Options{Context: dir}}
	src, closeSrc, err := b.contextSource()
	if err != nil {
		t.Fatal(err)
	}
	defer closeSrc()
	sums := newContextDigests(kept, start)
	dirs := newRootCache(src.root)
	defer dirs.close()
	h := sha256.New()
	for _, source := range sources {
		items, err := src.match(source)
		if err != nil {
			t.Fatal(err)
		}
		for _, item := range items {
			if err := src.digestTree(h, sums, dirs, item); err != nil {
				t.Fatal(err)
			}
		}
	}
	return digestRun{key: hex.EncodeToString(h.Sum(nil)), hashed: sums.hashed, keep: sums.encode()}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestContextDigestCache: a kept digest is reused only while its file's
// stat is unchanged; every change that changes what COPY copies changes
// the key, and the key is always the one a build without kept digests
// computes.
func TestContextDigestCache(t *testing.T) {
	for _, tc := range []struct {
		name       string
		change     func(t *testing.T, dir string)
		keyChanges bool
		hashed     int // files read again
		root       bool
	}{
		{name: "nothing", change: func(*testing.T, string) {}, keyChanges: false, hashed: 0},
		{name: "edited, size and mtime kept", keyChanges: true, hashed: 1, change: func(t *testing.T, dir string) {
			p := filepath.Join(dir, "files/a")
			fi, err := os.Stat(p)
			must(t, err)
			must(t, os.WriteFile(p, []byte("ONE\n"), 0o644))
			must(t, os.Chtimes(p, fi.ModTime(), fi.ModTime())) // touch -d back: only ctime tells
		}},
		{name: "new file", keyChanges: true, hashed: 1, change: func(t *testing.T, dir string) {
			writeFiles(t, dir, map[string]string{"files/sub/new": "new\n"})
		}},
		{name: "removed file", keyChanges: true, hashed: 0, change: func(t *testing.T, dir string) {
			must(t, os.Remove(filepath.Join(dir, "files/b")))
		}},
		{name: "renamed file", keyChanges: true, hashed: 1, change: func(t *testing.T, dir string) {
			must(t, os.Rename(filepath.Join(dir, "files/b"), filepath.Join(dir, "files/b2")))
		}},
		{name: "chmod", keyChanges: true, hashed: 1, change: func(t *testing.T, dir string) {
			must(t, os.Chmod(filepath.Join(dir, "files/sub/c"), 0o755))
		}},
		// COPY gives 0:0 whatever the context's owner: the key stays, but
		// the file is read again.
		{name: "chown", keyChanges: false, hashed: 1, root: true, change: func(t *testing.T, dir string) {
			must(t, os.Chown(filepath.Join(dir, "files/a"), 1000, 1000))
		}},
		{name: "symlink retargeted", keyChanges: true, hashed: 0, change: func(t *testing.T, dir string) {
			p := filepath.Join(dir, "files/ln")
			must(t, os.Remove(p))
			must(t, os.Symlink("b", p))
		}},
		{name: ".dockerignore", keyChanges: true, hashed: 1, change: func(t *testing.T, dir string) {
			writeFiles(t, dir, map[string]string{".dockerignore": "files/sub\n"})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.root && os.Geteuid() != 0 {
				t.Skip("chown needs root")
			}
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"files/a": "one\n", "files/b": "two\n", "files/sub/c": "three\n", ".dockerignore": "Dockerfile\n"})
			must(t, os.Symlink("a", filepath.Join(dir, "files/ln")))
			// The change must land in a later clock tick than the writes:
			// a build keeps no digest of a file changed within racyWindow.
			time.Sleep(20 * time.Millisecond)
			later := time.Now().Add(2 * racyWindow)
			first := digestContext(t, dir, nil, later)
			if first.hashed != 4 {
				t.Fatalf("first build read %d files, want 4", first.hashed)
			}
			tc.change(t, dir)
			again := digestContext(t, dir, first.keep, later)
			if again.hashed != tc.hashed {
				t.Errorf("read %d files, want %d", again.hashed, tc.hashed)
			}
			if (again.key != first.key) != tc.keyChanges {
				t.Errorf("key changed: %v, want %v", again.key != first.key, tc.keyChanges)
			}
			if fresh := digestContext(t, dir, nil, later); fresh.key != again.key {
				t.Errorf("kept digests gave key %s, reading every file gives %s", again.key, fresh.key)
			}
		})
	}
}

// TestContextDigestsNotKept: a file changed just before the build is read
// but its digest is not kept (it could change again within the same clock
// tick), and damaged kept data reads as nothing kept.
func TestContextDigestsNotKept(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a": "one\n", "b": "two\n"})
	now := digestContext(t, dir, nil, time.Now())
	if again := digestContext(t, dir, now.keep, time.Now()); again.hashed != 2 {
		t.Errorf("a file written within racyWindow was not read again: %d files read, want 2", again.hashed)
	}
	later := time.Now().Add(2 * racyWindow)
	kept := digestContext(t, dir, nil, later).keep
	for name, data := range map[string][]byte{
		"flipped":   append(append([]byte(nil), kept[:len(kept)-10]...), append([]byte{kept[len(kept)-10] ^ 1}, kept[len(kept)-9:]...)...),
		"truncated": kept[:len(kept)/2],
		"empty":     nil,
	} {
		if run := digestContext(t, dir, data, later); run.hashed != 2 || run.key != now.key {
			t.Errorf("%s: %d files read (want 2), key %s (want %s)", name, run.hashed, run.key, now.key)
		}
	}
	if run := digestContext(t, dir, kept, later); run.hashed != 0 {
		t.Errorf("intact kept digests: %d files read, want 0", run.hashed)
	}
}

// TestContextDigestNamedSymlink: a symlink named as a COPY source is
// copied as its target, so an edit of the target (size and mtime kept)
// changes the key.
func TestContextDigestNamedSymlink(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a": "one\n"})
	must(t, os.Symlink("a", filepath.Join(dir, "ln")))
	time.Sleep(20 * time.Millisecond)
	later := time.Now().Add(2 * racyWindow)
	first := digestSources(t, dir, nil, later, "ln")
	if again := digestSources(t, dir, first.keep, later, "ln"); again.hashed != 0 || again.key != first.key {
		t.Errorf("unchanged: %d files read, key changed %v", again.hashed, again.key != first.key)
	}
	p := filepath.Join(dir, "a")
	fi, err := os.Stat(p)
	must(t, err)
	must(t, os.WriteFile(p, []byte("ONE\n"), 0o644))
	must(t, os.Chtimes(p, fi.ModTime(), fi.ModTime()))
	if again := digestSources(t, dir, first.keep, later, "ln"); again.hashed != 1 || again.key == first.key {
		t.Errorf("target edited: %d files read (want 1), key changed %v (want true)", again.hashed, again.key != first.key)
	}
}
