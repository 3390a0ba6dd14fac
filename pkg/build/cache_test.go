package build_test

import (
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/layerctl/layerctl/pkg/build"
	"github.com/layerctl/layerctl/pkg/container"
)

// TestBuildCache: a rebuild with nothing changed is all cache hits and the
// same image; a changed COPY source rebuilds from that step on; --no-cache
// runs everything; gc keeps the cache of a tagged image and drops it with
// the image.
func TestBuildCache(t *testing.T) {
	s := newStore(t)
	dir := writeContext(t, map[string]string{
		"Dockerfile": "FROM busybox\nARG V=1\nRUN echo $V > /v\nCOPY f /f\nRUN cat /f > /g\nCMD [\"cat\", \"/g\"]\n",
		"f":          "one\n",
	})
	first, progress, err := buildIn(t.Context(), s, dir, build.Options{Tags: []string{"cached"}})
	if err != nil {
		t.Fatalf("build: %v\n%s", err, progress)
	}
	if strings.Contains(progress, "CACHED") {
		t.Errorf("a first build hit the cache:\n%s", progress)
	}
	records := cacheRecords(t, s)
	again, progress, err := buildIn(t.Context(), s, dir, build.Options{Tags: []string{"cached"}})
	if err != nil || again != first || strings.Count(progress, "CACHED") != 3 {
		t.Errorf("rebuild: %s, %v (first %s); want the same image, 3 steps cached:\n%s", again, err, first, progress)
	}
	if now := cacheRecords(t, s); !maps.Equal(now, records) {
		t.Errorf("a fully cached build wrote step records: %v, then %v", records, now)
	}

	os.WriteFile(filepath.Join(dir, "f"), []byte("two\n"), 0o644)
	changed, progress, err := buildIn(t.Context(), s, dir, build.Options{Tags: []string{"cached"}})
	if err != nil || changed == first {
		t.Fatalf("build with a changed source: %s, %v", changed, err)
	}
	if !strings.Contains(progress, "#3 CACHED") || strings.Count(progress, "CACHED") != 1 {
		t.Errorf("want only the RUN before COPY cached:\n%s", progress)
	}
	if out := runIn(t, s, "cached", "cat", "/g", "/v"); out != "two\n1\n" {
		t.Errorf("rebuilt image: %q", out)
	}
	// A build arg is part of the key of the steps after its ARG.
	_, progress, err = buildIn(t.Context(), s, dir, build.Options{BuildArgs: map[string]string{"V": "2"}})
	if err != nil || strings.Contains(progress, "CACHED") {
		t.Errorf("another build arg hit the cache (%v):\n%s", err, progress)
	}

	_, progress, err = buildIn(t.Context(), s, dir, build.Options{Tags: []string{"cached"}, NoCache: true})
	if err != nil || strings.Contains(progress, "CACHED") {
		t.Errorf("--no-cache: %v\n%s", err, progress)
	}

	if _, err := s.GC(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, progress, _ := buildIn(t.Context(), s, dir, build.Options{Tags: []string{"cached"}}); strings.Count(progress, "CACHED") != 3 {
		t.Errorf("gc dropped the cache of a tagged image:\n%s", progress)
	}
	for _, ref := range []string{"cached"} {
		if _, err := s.RemoveImage(ref, true); err != nil {
			t.Fatal(err)
		}
	}
	for _, img := range mustImages(t, s) {
		if img != "busybox" {
			s.RemoveImage(img, true)
		}
	}
	if _, err := s.GC(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, progress, _ := buildIn(t.Context(), s, dir, build.Options{}); strings.Contains(progress, "CACHED") {
		t.Errorf("the cache outlived its layers:\n%s", progress)
	}
}

// cacheRecords lists the build cache's files with their change times.
func cacheRecords(t *testing.T, s *container.Store) map[string]time.Time {
	t.Helper()
	out := map[string]time.Time{}
	err := filepath.WalkDir(filepath.Join(s.Root(), "buildcache"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err == nil && !d.IsDir() {
			out[p] = fi.ModTime()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBuildCacheArgs: as BuildKit, a step's key holds the ARGs it uses: a
// COPY the ones its text expands, a RUN every ARG in scope (they are its
// environment). A --build-arg that a step does not use keeps its cache.
func TestBuildCacheArgs(t *testing.T) {
	s := newStore(t)
	dir := writeContext(t, map[string]string{
		// #1 FROM, #2 ARG, #3 ARG, #4 COPY, #5 RUN, #6 ARG, #7 RUN
		"Dockerfile": "FROM busybox\nARG DEST=d1\nARG OTHER=o1\nCOPY f /$DEST\nRUN cat /$DEST > /g\nARG LATE=l1\nRUN echo late > /late\n",
		"f":          "one\n",
	})
	if _, progress, err := buildIn(t.Context(), s, dir, build.Options{}); err != nil {
		t.Fatalf("build: %v\n%s", err, progress)
	}
	for _, tc := range []struct {
		name   string
		args   map[string]string
		cached []string // the steps that hit the cache
	}{
		{"an ARG no step uses", map[string]string{"NOPE": "x"}, []string{"#4", "#5", "#7"}},
		{"an ARG only RUN's environment has", map[string]string{"OTHER": "o2"}, []string{"#4"}},
		{"an ARG declared after a RUN", map[string]string{"LATE": "l2"}, []string{"#4", "#5"}},
		{"an ARG COPY's destination uses", map[string]string{"DEST": "d2"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, progress, err := buildIn(t.Context(), s, dir, build.Options{BuildArgs: tc.args})
			if err != nil {
				t.Fatalf("build: %v\n%s", err, progress)
			}
			var cached []string
			for _, line := range strings.Split(progress, "\n") {
				if step, ok := strings.CutSuffix(line, " CACHED"); ok {
					cached = append(cached, step)
				}
			}
			if strings.Join(cached, " ") != strings.Join(tc.cached, " ") {
				t.Errorf("cached steps %v, want %v:\n%s", cached, tc.cached, progress)
			}
		})
	}
}

// TestBuildKeepsContextDigests: a build keeps its context's file digests in
// the store; an edit that keeps the file's size and mtime still rebuilds
// the COPY (its ctime moved), and gc drops the digests of a context that
// is gone.
func TestBuildKeepsContextDigests(t *testing.T) {
	build.RacyWindow(t, 10*time.Millisecond)
	s := newStore(t)
	dir := writeContext(t, map[string]string{
		"Dockerfile": "FROM busybox\nCOPY f /f\n",
		"f":          "one\n",
	})
	time.Sleep(50 * time.Millisecond) // past the window: the digest is kept
	if _, progress, err := buildIn(t.Context(), s, dir, build.Options{Tags: []string{"kept"}}); err != nil {
		t.Fatalf("build: %v\n%s", err, progress)
	}
	kept, _ := filepath.Glob(filepath.Join(s.Root(), "buildcache", "contexts", "*"))
	if len(kept) != 1 {
		t.Fatalf("kept context digests: %v, want one file", kept)
	}
	if _, progress, _ := buildIn(t.Context(), s, dir, build.Options{Tags: []string{"kept"}}); !strings.Contains(progress, "#2 CACHED") {
		t.Errorf("rebuild with kept digests:\n%s", progress)
	}
	f := filepath.Join(dir, "f")
	fi, err := os.Stat(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f, []byte("two\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(f, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if _, progress, err := buildIn(t.Context(), s, dir, build.Options{Tags: []string{"kept"}}); err != nil || strings.Contains(progress, "CACHED") {
		t.Errorf("an edit with size and mtime kept hit the cache (%v):\n%s", err, progress)
	}
	if out := runIn(t, s, "kept", "cat", "/f"); out != "two\n" {
		t.Errorf("rebuilt image has %q", out)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GC(t.Context()); err != nil {
		t.Fatal(err)
	}
	if kept, _ := filepath.Glob(filepath.Join(s.Root(), "buildcache", "contexts", "*")); len(kept) != 0 {
		t.Errorf("gc kept the digests of a removed context: %v", kept)
	}
}
