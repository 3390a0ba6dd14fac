package container_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/layerctl/layerctl/pkg/container"
	lt "github.com/layerctl/layerctl/pkg/layer/layertest"
	"github.com/layerctl/layerctl/pkg/union"
)

// cancelAfter is a context that reports itself cancelled from its n-th Err
// call on: Create's copy checks Err between entries, so this cancels it at
// a chosen point in the middle, deterministically.
type cancelAfter struct {
	context.Context
	left atomic.Int64
}

func newCancelAfter(n int64) *cancelAfter {
	c := &cancelAfter{Context: context.Background()}
	c.left.Store(n)
	return c
}

func (c *cancelAfter) Err() error {
	if c.left.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

// A Create cancelled at any point of the vfs copy fails with the context's
// error and leaves no container and nothing in tmp/.
func TestCreateCancelledLeavesNothing(t *testing.T) {
	requireDriver(t, union.VFS)
	e := newEnv(t, union.VFS)
	var entries []lt.Entry
	entries = append(entries, lt.Dir("d/"))
	for i := range 50 {
		entries = append(entries, lt.File(fmt.Sprintf("d/f%d", i), "x"))
	}
	rec := e.pull(t, [][]byte{lt.Tar(t, entries...), lt.Tar(t, lt.File("top", "y"))})
	// How many checks a whole Create makes, so the cancels below land on
	// each of them, the last (just before publishing) included.
	const plenty = 1 << 40
	counting := newCancelAfter(plenty)
	made, err := e.cs.Create(counting, container.CreateOptions{Image: rec.ID.String()})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if _, err := e.cs.Remove(made.ID, true); err != nil {
		t.Fatal(err)
	}
	checks := plenty - counting.left.Load()
	if checks < 3 {
		t.Fatalf("Create checked its context %d times, want one per copied dir and one before publishing", checks)
	}
	for n := range checks {
		t.Run(fmt.Sprint("after ", n), func(t *testing.T) {
			_, err := e.cs.Create(newCancelAfter(n), container.CreateOptions{Image: rec.ID.String()})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Create cancelled after %d checks: %v, want context.Canceled", n, err)
			}
			if all, err := e.cs.List(); err != nil || len(all) != 0 {
				t.Errorf("containers after a cancelled Create: %v, %v", all, err)
			}
			if left, err := os.ReadDir(e.ls.Paths().Tmp()); err != nil || len(left) != 0 {
				t.Errorf("tmp/ after a cancelled Create: %v, %v", left, err)
			}
		})
	}
}
