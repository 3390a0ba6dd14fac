package layer

// Tests that files of zeros and sparse files keep their holes, and that
// their layers still reassemble to the very same bytes.

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	lt "github.com/layerctl/layerctl/pkg/layer/layertest"
	"github.com/layerctl/layerctl/pkg/whiteout"
)

const gib = 1 << 30

// zeros is a plain layer around the file f of size bytes, zero but for data
// (offset -> bytes).
func zeros(t *testing.T, size int64, data map[int64]string) []byte {
	t.Helper()
	body := make([]byte, size)
	for off, s := range data {
		copy(body[off:], s)
	}
	return lt.Tar(t, lt.File("a", "before"), lt.File("f", string(body)), lt.File("z", "after"))
}

func TestSparseFilesKeepHoles(t *testing.T) {
	needRoot(t)
	ends := map[int64]string{0: "head", gib - 5: "tail\n"}
	plainData := map[int64]string{0: "head", 3<<20 + 1: "mid", 64<<20 - 5: "tail\n"}
	type tc struct {
		name   string
		data   []byte
		size   int64
		ends   map[int64]string
		blocks int64 // most 512-byte blocks the file may take
	}
	cases := []tc{
		// A plain file: every zero travels in the stream.
		{"plain zeros", zeros(t, 64<<20, nil), 64 << 20, nil, 64},
		{"plain zeros, data at both ends and between", zeros(t, 64<<20, plainData), 64 << 20, plainData, 64},
	}
	for _, f := range []lt.SparseFormat{lt.SparseGNU, lt.SparsePAX01, lt.SparsePAX10} {
		cases = append(cases,
			tc{"1 GiB of zeros, " + f.String(), lt.Tar(t, lt.File("a", "x"), lt.Sparse("f", gib, nil, f), lt.File("z", "y")), gib, nil, 64},
			tc{"1 GiB, data at both ends, " + f.String(), lt.Tar(t, lt.Sparse("f", gib, ends, f)), gib, ends, 64})
	}
	many := map[int64]string{}
	for i := int64(0); i < 30; i++ { // more fragments than the GNU header and one extension block hold
		many[i*(1<<20)+7] = "fragment"
	}
	cases = append(cases, tc{"30 fragments, gnu", lt.Tar(t, lt.Sparse("f", 40<<20, many, lt.SparseGNU)), 40 << 20, many, 4 * 30 * 8})
	for _, f := range []whiteout.Format{whiteout.FormatOverlay, whiteout.FormatFiles} {
		t.Run(string(f), func(t *testing.T) {
			s := openFormatStore(t, f)
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					m, err := pullLayer(t, s, "", c.data, nil)
					if err != nil {
						t.Fatalf("pull: %v", err)
					}
					path := s.DiffDir(m.ChainID) + "/f"
					st := lstat(t, path)
					eq(t, "size", st.Size, c.size)
					if st.Blocks > c.blocks {
						t.Errorf("the file takes %d KiB on disk, want at most %d KiB", st.Blocks/2, c.blocks/2)
					}
					file, err := os.Open(path)
					if err != nil {
						t.Fatal(err)
					}
					defer file.Close()
					for off, want := range c.ends {
						got := make([]byte, len(want))
						if _, err := file.ReadAt(got, off); err != nil || string(got) != want {
							t.Errorf("at %d: %q (%v), want %q", off, got, err, want)
						}
					}
					if err := s.Verify(t.Context(), m.ChainID); err != nil {
						t.Errorf("verify: %v", err)
					}
					rc, err := s.Tar(m.ChainID)
					if err != nil {
						t.Fatal(err)
					}
					defer rc.Close()
					if err := sameStream(rc, c.data); err != nil {
						t.Error(err)
					}
				})
			}
		})
	}
}

// sameStream compares a reassembled stream with the original bytes.
func sameStream(r io.Reader, want []byte) error {
	got, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("reassembled %d bytes, differ from the %d pulled", len(got), len(want))
	}
	return nil
}

// A sparse file replaced later in its layer keeps its holes beside the diff
// dir too.
func TestSparseFileReplaced(t *testing.T) {
	needRoot(t)
	s := openFormatStore(t, whiteout.FormatOverlay)
	data := lt.Tar(t, lt.Sparse("f", gib, map[int64]string{1 << 20: "data"}, lt.SparsePAX10), lt.File("f", "small"))
	m, err := pullLayer(t, s, "", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(t.Context(), m.ChainID); err != nil {
		t.Errorf("verify: %v", err)
	}
	rc, err := s.Tar(m.ChainID)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if err := sameStream(rc, data); err != nil {
		t.Error(err)
	}
	if used := du(t, s.paths.Layer(m.ChainID)); used > 1<<20 {
		t.Errorf("the layer takes %d bytes on disk", used)
	}
}

// du sums the disk blocks of the files under dir.
func du(t *testing.T, dir string) int64 {
	t.Helper()
	var total int64
	err := filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		var st unix.Stat_t
		if err == nil {
			err = unix.Lstat(path, &st)
		}
		total += st.Blocks * 512
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return total
}

// Sparse files as GNU tar writes them (it finds the holes with SEEK_HOLE)
// keep their holes and reassemble.
func TestSparseFromGNUTar(t *testing.T) {
	needRoot(t)
	src := t.TempDir()
	f, err := os.Create(filepath.Join(src, "f"))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct {
		off  int64
		data string
	}{{0, "head"}, {1 << 20, "middle"}, {256<<20 - 5, "tail\n"}} {
		if _, err := f.WriteAt([]byte(w.data), w.off); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	s := openFormatStore(t, whiteout.FormatOverlay)
	for _, args := range [][]string{{"--format=gnu"}, {"--format=posix"}, {"--format=posix", "--sparse-version=0.1"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			cmd := append([]string{"--sparse", "--owner=0", "--group=0", "--numeric-owner", "-C", src, "-cf", "-", "f"}, args...)
			data, err := exec.Command("tar", cmd...).Output()
			if err != nil {
				t.Skipf("GNU tar: %v", err)
			}
			if len(data) > 1<<20 {
				t.Skipf("GNU tar wrote the holes (%d bytes)", len(data))
			}
			m, err := pullLayer(t, s, "", data, nil)
			if err != nil {
				t.Fatalf("pull: %v", err)
			}
			if st := lstat(t, s.DiffDir(m.ChainID)+"/f"); st.Size != 256<<20 || st.Blocks > 64 {
				t.Errorf("size %d, %d KiB on disk", st.Size, st.Blocks/2)
			}
			if err := s.Verify(t.Context(), m.ChainID); err != nil {
				t.Errorf("verify: %v", err)
			}
			rc, err := s.Tar(m.ChainID)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			if err := sameStream(rc, data); err != nil {
				t.Error(err)
			}
		})
	}
}
