package container_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/layerctl/layerctl/pkg/container"
	"github.com/layerctl/layerctl/pkg/union"
)

// A store whose driver the kernel lacks (aufs on mainline Linux) still
// opens and lists: the driver is made, and the kernel looked at, at the
// first mount, which then says what is missing.
func TestStoreOpensWithoutItsDriver(t *testing.T) {
	if union.Detect().AUFS {
		t.Skip("this kernel has aufs")
	}
	root := filepath.Join(t.TempDir(), "store")
	s, err := container.Open(root, container.WithDriver(union.VFS))
	if err != nil {
		t.Fatal(err)
	}
	pullBusybox(t, s)
	s.Close()
	// The store as aufs would have made it: its driver and whiteout form.
	if err := os.WriteFile(filepath.Join(root, "store.json"), []byte(`{"driver": "aufs", "whiteout": "files"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err = container.Open(root)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer s.Close()
	if imgs, err := s.ListImages("", container.Filters{}, true); err != nil || len(imgs) != 1 {
		t.Fatalf("ListImages = %d images, %v; want busybox", len(imgs), err)
	}
	if _, err := s.ListContainers(true, container.Filters{}); err != nil {
		t.Fatalf("ListContainers: %v", err)
	}
	st := createRun(t, s, "c", container.RunConfig{})
	defer s.Remove(st.ID, true)
	if _, err := s.Mount(st.ID); !errors.Is(err, union.ErrUnavailable) {
		t.Fatalf("mount: %v, want ErrUnavailable", err)
	}
}
