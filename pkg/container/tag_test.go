package container_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/layerctl/layerctl/pkg/container"
	"github.com/layerctl/layerctl/pkg/union"
)

// A container records the image name it was made with; rmi of one of
// several names takes just that name, even while a container uses the
// image, and the last name of a used image is refused without force.
func TestTagRemoveImageAndImageName(t *testing.T) {
	requireDriver(t, union.VFS)
	e := newEnv(t, union.VFS)
	rec := e.pull(t, tinyImage(t))
	for _, n := range []string{"first:1", "second:2"} {
		if _, err := e.cs.TagImage(rec.ID.String(), n); err != nil {
			t.Fatalf("tag %s: %v", n, err)
		}
	}
	// The name the pull gave goes alone: the image has two more.
	pulled, _ := e.cs.ImageNames(rec.ID)
	for _, n := range pulled {
		if n == "docker.io/library/first:1" || n == "docker.io/library/second:2" {
			continue
		}
		if r, err := e.cs.RemoveImage(n, false); err != nil || r.ID != "" || !slices.Equal(r.Untagged, []string{n}) {
			t.Errorf("rmi %s of an image with three names: %+v, %v", n, r, err)
		}
	}
	if _, err := e.cs.TagImage("nosuch", "x:1"); !errors.Is(err, container.ErrImageNotFound) {
		t.Errorf("tag of an unknown image: %v, want ErrImageNotFound", err)
	}
	if _, err := e.cs.TagImage("second:2", "UPPER"); err == nil {
		t.Error("tag with an invalid name succeeded")
	}

	for _, tc := range []struct{ image, want string }{
		{"second:2", "docker.io/library/second:2"},
		{rec.ID.String(), ""}, // an ID names no name
	} {
		s, err := e.cs.Create(t.Context(), container.CreateOptions{Image: tc.image})
		if err != nil {
			t.Fatal(err)
		}
		if s.ImageName != tc.want {
			t.Errorf("container of %s records image name %q, want %q", tc.image, s.ImageName, tc.want)
		}
	}

	r, err := e.cs.RemoveImage("first:1", false)
	if err != nil || r.ID != "" || !slices.Equal(r.Untagged, []string{"docker.io/library/first:1"}) {
		t.Errorf("rmi of one of two names of a used image: %+v, %v", r, err)
	}
	if _, err := e.cs.RemoveImage("second:2", false); !errors.Is(err, container.ErrInUse) {
		t.Errorf("rmi of the last name of a used image: %v, want ErrInUse", err)
	}
	if names, _ := e.cs.ImageNames(rec.ID); !slices.Equal(names, []string{"docker.io/library/second:2"}) {
		t.Errorf("names left: %v", names)
	}
}
