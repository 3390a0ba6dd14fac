package layer

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	digest "github.com/opencontainers/go-digest"

	"github.com/layerctl/layerctl/pkg/whiteout"
)

func openTestStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir(), OpenOptions{Default: func() (Settings, error) {
		return Settings{Driver: "vfs", Whiteout: whiteout.FormatFiles}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// A layer made by GNU tar from a real directory tree is stored, verifies,
// and reassembles to the very same bytes.
func TestCreateVerifyReassembleGNUTar(t *testing.T) {
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "etc/deep/er"), 0o755)
	os.WriteFile(filepath.Join(src, "etc/passwd"), []byte("root:x:0:0::/root:/bin/sh\n"), 0o644)
	os.WriteFile(filepath.Join(src, "etc/deep/er/big"), bytes.Repeat([]byte("x"), 1<<20), 0o600)
	os.Symlink("../etc/passwd", filepath.Join(src, "etc/link"))
	os.Link(filepath.Join(src, "etc/passwd"), filepath.Join(src, "etc/hard"))
	out, err := exec.Command("tar", "--format=posix", "-C", src, "-cf", "-", ".").Output()
	if err != nil {
		t.Skipf("GNU tar unavailable: %v", err)
	}
	s := openTestStore(t)
	diffID := digest.FromBytes(out)
	m, created, err := s.Create(context.Background(), "", diffID, func(context.Context) (io.ReadCloser, []Blob, error) {
		return io.NopCloser(bytes.NewReader(out)), nil, nil
	}, CreateOptions{})
	if err != nil || !created {
		t.Fatalf("create: %v created=%v", err, created)
	}
	if m.ChainID != diffID || m.Size != 1<<20+26 {
		t.Fatalf("meta = %+v", m)
	}
	if err := s.Verify(t.Context(), m.ChainID); err != nil {
		t.Fatalf("verify: %v", err)
	}
	rc, err := s.Tar(m.ChainID)
	if err != nil {
		t.Fatal(err)
	}
	again, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(again, out) {
		t.Fatalf("reassembled stream differs (err %v, %d vs %d bytes)", err, len(again), len(out))
	}
	os.WriteFile(filepath.Join(s.DiffDir(m.ChainID), "etc/extra"), nil, 0o644)
	if err := s.Verify(t.Context(), m.ChainID); err == nil {
		t.Fatal("verify passed with an extra file")
	}
}
