package layer

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"

	"github.com/layerctl/layerctl/pkg/whiteout"
)

// openAt opens a second Store on root, as another process would.
func openAt(t *testing.T, root string, noHold bool) *Store {
	t.Helper()
	s, err := Open(root, OpenOptions{NoHold: noHold, Default: func() (Settings, error) {
		return Settings{Driver: "vfs", Whiteout: whiteout.FormatFiles}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// promptly bounds a step that must not wait for another Store.
func promptly(t *testing.T, what string, fn func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%s still blocked after 10s", what)
	}
}

func createLayer(t *testing.T, s *Store, parent digest.Digest, entries ...string) Meta {
	t.Helper()
	tarBytes := tarOfFiles(t, entries...)
	m, _, err := s.Create(t.Context(), parent, digest.FromBytes(tarBytes), func(context.Context) (io.ReadCloser, []Blob, error) {
		return io.NopCloser(bytes.NewReader(tarBytes)), nil, nil
	}, CreateOptions{Lower: s.lowerFunc(parent)})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// A Store opened with NoHold keeps no one from the store: gc runs beside
// it. gc keeps the layers (and their parents) of a live lease, drops a
// lease whose holder is gone, and keeps a live staging dir in tmp/.
func TestLeaseAndStagingKeepFromGC(t *testing.T) {
	root := t.TempDir()
	puller := openAt(t, root, true)
	base := createLayer(t, puller, "", "a")
	top := createLayer(t, puller, base.ChainID, "b")
	other := createLayer(t, puller, "", "c")
	lease, err := puller.Lease([]digest.Digest{top.ChainID})
	if err != nil {
		t.Fatal(err)
	}
	staging, err := puller.stagingDir("layer-")
	if err != nil {
		t.Fatal(err)
	}
	leftover, err := puller.TempDir("layer-")
	if err != nil {
		t.Fatal(err)
	}
	// A lease of a process that is gone: no lock on its file.
	if err := os.WriteFile(filepath.Join(root, "leases", "lease-dead"), []byte(`["`+other.ChainID.String()+`"]`), 0o600); err != nil {
		t.Fatal(err)
	}

	gc := openAt(t, root, false)
	var removed []Meta
	promptly(t, "gc beside a NoHold store", func() error {
		removed, err = gc.GC(func() ([]digest.Digest, error) { return nil, nil }, nil)
		return err
	})
	if len(removed) != 1 || removed[0].ChainID != other.ChainID {
		t.Errorf("gc removed %v, want only the unleased %s", removed, other.ChainID)
	}
	for _, m := range []Meta{base, top} {
		if !gc.Has(m.ChainID) {
			t.Errorf("gc removed leased layer %s", m.ChainID)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "leases", "lease-dead")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the dead lease is still there (%v)", err)
	}
	if _, err := os.Stat(staging); err != nil {
		t.Errorf("gc removed a live staging dir: %v", err)
	}
	if _, err := os.Stat(leftover); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("gc kept an unlocked tmp/ leftover (%v)", err)
	}

	puller.unstage(staging)
	lease.Release()
	if _, err := gc.GC(func() ([]digest.Digest, error) { return nil, nil }, nil); err != nil {
		t.Fatal(err)
	}
	if gc.Has(base.ChainID) || gc.Has(top.ChainID) {
		t.Error("gc kept the layers of a released lease")
	}
	for _, dir := range []string{"tmp", "leases"} {
		if entries, _ := os.ReadDir(filepath.Join(root, dir)); len(entries) != 0 {
			t.Errorf("%s/ left: %v", dir, entries)
		}
	}
}

// A Create that waits for another's extraction of the same layer gives up
// when its context is done.
func TestCreateLockWaitCancelled(t *testing.T) {
	s := openTestStore(t)
	tarBytes := tarOfFiles(t, "x")
	diffID := digest.FromBytes(tarBytes)
	inside, leave := make(chan struct{}), make(chan struct{})
	go s.Locked(diffID.Encoded(), func() error { close(inside); <-leave; return nil })
	<-inside
	defer close(leave)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	promptly(t, "a cancelled Create waiting for the layer's lock", func() error {
		_, _, err := s.Create(ctx, "", diffID, func(context.Context) (io.ReadCloser, []Blob, error) {
			return io.NopCloser(bytes.NewReader(tarBytes)), nil, nil
		}, CreateOptions{})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Create: %v, want context.Canceled", err)
		}
		return nil
	})
}

// tarOfFiles is a layer tar of regular files, each holding its own name.
func tarOfFiles(t *testing.T, names ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(n)), Typeflag: tar.TypeReg, ModTime: time.Unix(1700000000, 0)}); err != nil {
			t.Fatal(err)
		}
		io.WriteString(tw, n)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
