package container_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/layerctl/layerctl/pkg/container"
)

// TestContextDigests: what a builder keeps for a context reads back for
// that context only, at most 16 contexts are kept (the latest written),
// and gc drops what is kept for a context that is gone.
func TestContextDigests(t *testing.T) {
	s, err := container.Open(t.TempDir(), container.WithDriver("vfs"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctxs := t.TempDir()
	dir := func(i int) string { return filepath.Join(ctxs, fmt.Sprint(i)) }
	for i := range 20 {
		if err := os.Mkdir(dir(i), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := s.PutContextDigests(dir(i), []byte(fmt.Sprint("data ", i))); err != nil {
			t.Fatal(err)
		}
	}
	kept, other := 0, -1
	for i := range 20 {
		if got := s.ContextDigests(dir(i)); got != nil {
			kept++
			if i != 19 {
				other = i
			}
			if string(got) != fmt.Sprint("data ", i) {
				t.Errorf("context %d: %q", i, got)
			}
		}
	}
	if kept != 16 || s.ContextDigests(dir(19)) == nil {
		t.Errorf("%d contexts kept, want 16 with the last written", kept)
	}
	if got := s.ContextDigests(filepath.Join(ctxs, "other")); got != nil {
		t.Errorf("a context never built: %q", got)
	}
	if err := os.Remove(dir(19)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GC(t.Context()); err != nil {
		t.Fatal(err)
	}
	if s.ContextDigests(dir(19)) != nil || s.ContextDigests(dir(other)) == nil {
		t.Errorf("gc: want the digests of the removed context dropped, the others kept")
	}
}
