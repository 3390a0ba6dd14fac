package build_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/layerctl/layerctl/pkg/build"
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
	again, progress, err := buildIn(t.Context(), s, dir, build.Options{Tags: []string{"cached"}})
	if err != nil || again != first || strings.Count(progress, "CACHED") != 3 {
		t.Errorf("rebuild: %s, %v (first %s); want the same image, 3 steps cached:\n%s", again, err, first, progress)
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
