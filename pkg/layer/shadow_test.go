package layer

// Tests that every layer that pulls reassembles byte for byte, also one
// whose entries replace each other: what the diff dir cannot hold is kept
// beside it.

import (
	"bytes"
	"os"
	"testing"

	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	lt "github.com/layerctl/layerctl/pkg/layer/layertest"
	"github.com/layerctl/layerctl/pkg/whiteout"
)

var replacedCases = []struct {
	name    string
	entries []L
	check   func(t *testing.T, d string)
}{
	{"file written twice", []L{lt.File("f", "old"), lt.File("f", "new content")}, func(t *testing.T, d string) {
		content(t, d+"/f", "new content")
	}},
	{"hardlinked file replaced", []L{lt.File("a", "old"), lt.Hardlink("h", "a"), lt.File("a", "new")}, func(t *testing.T, d string) {
		content(t, d+"/h", "old")
		content(t, d+"/a", "new")
		eq(t, "h nlink", lstat(t, d+"/h").Nlink, 1)
	}},
	{"hardlinks to a replaced file and to its replacement", []L{
		lt.File("a", "one"), lt.Hardlink("h1", "a"), lt.File("a", "two"), lt.Hardlink("h2", "a"), lt.File("a", "three"),
	}, func(t *testing.T, d string) {
		content(t, d+"/h1", "one")
		content(t, d+"/h2", "two")
		content(t, d+"/a", "three")
	}},
	{"hardlink replaced by a file", []L{lt.File("a", "x"), lt.Hardlink("h", "a"), lt.File("h", "own")}, func(t *testing.T, d string) {
		content(t, d+"/a", "x")
		content(t, d+"/h", "own")
	}},
	{"dir replaced by a file", []L{
		lt.Dir("d/"), lt.File("d/x", "1"), lt.Dir("d/s/"), lt.File("d/s/y", "22"), lt.Hardlink("d/s/h", "d/x"), lt.File("d", "file"),
	}, func(t *testing.T, d string) {
		content(t, d+"/d", "file")
	}},
	{"file replaced by a dir", []L{lt.File("f", "1"), lt.Dir("f/"), lt.File("f/y", "2")}, func(t *testing.T, d string) {
		content(t, d+"/f/y", "2")
	}},
	{"symlinks replaced", []L{
		lt.Symlink("l", "x"), lt.File("l", "now a file"), lt.Dir("e/"), lt.File("e/z", "zz"), lt.Symlink("e", "l"),
	}, func(t *testing.T, d string) {
		content(t, d+"/l", "now a file")
		attrs(t, d+"/e", unix.S_IFLNK, 0o777, 0, 0)
	}},
	{"fifo and device replaced", []L{lt.Fifo("p"), lt.File("p", "data"), lt.Char("c", 1, 3), lt.Dir("c/"), lt.File("c/x", "y")}, func(t *testing.T, d string) {
		content(t, d+"/p", "data")
		content(t, d+"/c/x", "y")
	}},
	{"whiteouts with content", []L{
		lt.File(".wh.gone", "payload"), lt.Dir("d/"), lt.File("d/"+whiteout.OpaqueMarker, "opaque payload"), lt.File(".wh..wh.aufs", "meta"),
	}, nil},
	{"whiteout then the file", []L{lt.File(".wh.x", ""), lt.File("x", "keep"), lt.File("y", "keep"), lt.File(".wh.y", "")}, func(t *testing.T, d string) {
		content(t, d+"/x", "keep")
		content(t, d+"/y", "keep")
	}},
}

func TestReplacedEntriesReassemble(t *testing.T) {
	needRoot(t)
	for _, f := range bothFormats {
		t.Run(string(f), func(t *testing.T) {
			s := openFormatStore(t, f)
			for _, tc := range replacedCases {
				t.Run(tc.name, func(t *testing.T) {
					data := lt.Tar(t, tc.entries...)
					m, err := pullLayer(t, s, "", data, nil)
					if err != nil {
						t.Fatalf("pull: %v", err)
					}
					if tc.check != nil {
						tc.check(t, s.DiffDir(m.ChainID))
					}
					if err := s.Verify(t.Context(), m.ChainID); err != nil {
						t.Errorf("verify: %v", err)
					}
					got, err := tarOf(s, m.ChainID)
					if err != nil || !bytes.Equal(got, data) {
						t.Errorf("reassembled %d bytes (err %v), want the %d pulled", len(got), err, len(data))
					}
				})
			}
			// What is kept beside the diff dirs goes with their layers.
			if _, err := s.GC(func() ([]digest.Digest, error) { return nil, nil }, nil); err != nil {
				t.Fatal(err)
			}
			if left, _ := os.ReadDir(s.Root() + "/layers"); len(left) != 0 {
				t.Errorf("gc left %d layer dirs", len(left))
			}
		})
	}
}
