package container_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/layerctl/layerctl/pkg/container"
)

// Each kind's sentinel matches its own category and no other, is told
// apart from the other kinds, and reads as the category did.
func TestErrorKinds(t *testing.T) {
	kinds := []struct {
		name     string
		err      error
		category error
		message  string
	}{
		{"layer not found", container.ErrLayerNotFound, container.ErrNotFound, "not found"},
		{"image not found", container.ErrImageNotFound, container.ErrNotFound, "not found"},
		{"container not found", container.ErrContainerNotFound, container.ErrNotFound, "not found"},
		{"image in use", container.ErrImageInUse, container.ErrInUse, "in use"},
		{"container in use", container.ErrContainerInUse, container.ErrInUse, "in use"},
		{"container exists", container.ErrContainerExists, container.ErrExists, "already exists"},
	}
	categories := []error{container.ErrNotFound, container.ErrInUse, container.ErrExists}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			wrapped := fmt.Errorf("thing x: %w", k.err)
			if wrapped.Error() != "thing x: "+k.message {
				t.Errorf("message %q, want %q", wrapped.Error(), "thing x: "+k.message)
			}
			for _, c := range categories {
				if got, want := errors.Is(wrapped, c), c == k.category; got != want {
					t.Errorf("errors.Is(%v, category %q) = %v, want %v", wrapped, c, got, want)
				}
			}
			for _, other := range kinds {
				if got, want := errors.Is(wrapped, other.err), other.err == k.err; got != want {
					t.Errorf("errors.Is(%s, %s) = %v, want %v", k.name, other.name, got, want)
				}
			}
		})
	}
}
