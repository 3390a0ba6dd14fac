package container_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/layerctl/layerctl/pkg/container"
	"github.com/layerctl/layerctl/pkg/union"
	"github.com/layerctl/layerctl/pkg/union/uniontest"
)

// A container is found by its full ID first (Docker's order: a name that
// happens to be another container's ID does not shadow it), then by name,
// then by a unique ID prefix.
func TestResolveOrder(t *testing.T) {
	requireDriver(t, union.VFS)
	e := newEnv(t, union.VFS)
	rec := e.pull(t, uniontest.Shapes()[0].Tars(t))
	a := e.create(t, rec, "first")
	b := e.create(t, rec, a.ID) // named with a's ID
	for _, tc := range []struct {
		name, ref string
		want      string // ID; "" an error
		notFound  bool
	}{
		{"full ID, also another's name", a.ID, a.ID, false},
		{"full ID", b.ID, b.ID, false},
		{"name", "first", a.ID, false},
		{"unique prefix", b.ID[:12], b.ID, false}, // two random IDs: 12 digits tell them apart
		{"unknown full ID", strings.Repeat("0", 64), "", true},
		{"unknown name", "nobody", "", true},
		{"not hex, 64 long", strings.Repeat("z", 64), "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := e.cs.Resolve(tc.ref)
			switch {
			case tc.want != "" && (err != nil || s.ID != tc.want):
				t.Errorf("Resolve(%.16s) = %.16s, %v; want %.16s", tc.ref, s.ID, err, tc.want)
			case tc.want == "" && (err == nil || tc.notFound && !errors.Is(err, container.ErrNotFound)):
				t.Errorf("Resolve(%.16s) = %.16s, %v; want not found", tc.ref, s.ID, err)
			}
		})
	}
}
