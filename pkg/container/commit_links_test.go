package container_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"

	"github.com/layerctl/layerctl/pkg/container"
	lt "github.com/layerctl/layerctl/pkg/layer/layertest"
	"github.com/layerctl/layerctl/pkg/union"
)

// A new hardlink to a file of the image is committed alike on every
// driver, as overlay stores it: its copy-up puts the linked file in the
// rw layer beside the new name, so the layer holds the file once and a
// hardlink to it (one inode in the container, one in the image).
func TestCommitNewHardlinkSameOnEveryDriver(t *testing.T) {
	tars := [][]byte{lt.Tar(t,
		lt.Dir("bin/"), lt.File("bin/tool", "tool\n", lt.Mode(0o755)),
		lt.Dir("data/"), lt.File("data/f", "f\n"),
		// Two names below: the one linked from is the one copied up.
		lt.Dir("lib/"), lt.File("lib/a", "a\n"), lt.Hardlink("lib/b", "lib/a"),
	)}
	links := [][2]string{{"bin/tool", "bin/newlink"}, {"data/f", "new/f"}, {"lib/a", "lib/c"}}
	wantDiff := []string{
		"C /bin", "A /bin/newlink", "C /bin/tool",
		"C /data", "C /data/f",
		"C /lib", "C /lib/a", "A /lib/c",
		"A /new", "A /new/f",
	}
	// Walk order: the first name of an inode is the file, later ones link to it.
	wantLayer := []string{
		"bin/ dir", "bin/newlink reg 5", "bin/tool link bin/newlink",
		"data/ dir", "data/f reg 2",
		"lib/ dir", "lib/a reg 2", "lib/c link lib/a",
		"new/ dir", "new/f link data/f",
	}
	diffIDs := map[string]digest.Digest{}
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			requireDriver(t, driver)
			e := newEnv(t, driver)
			s := e.create(t, e.pull(t, tars), "")
			merged := e.mount(t, s.ID)
			if err := os.Mkdir(filepath.Join(merged, "new"), 0o755); err != nil {
				t.Fatal(err)
			}
			for _, l := range links {
				if err := os.Link(filepath.Join(merged, l[0]), filepath.Join(merged, l[1])); err != nil {
					t.Fatal(err)
				}
			}
			changes, err := e.cs.Diff(t.Context(), s.ID)
			if err != nil {
				t.Fatal(err)
			}
			var gotDiff []string
			for _, c := range changes {
				gotDiff = append(gotDiff, c.String())
			}
			if !slices.Equal(gotDiff, wantDiff) {
				t.Errorf("diff\n\tgot  %q\n\twant %q", gotDiff, wantDiff)
			}

			opts := container.CommitOptions{Clamp: commitEpoch}
			opts.Created = commitEpoch
			_, m, err := e.cs.Commit(t.Context(), s.ID, opts)
			if err != nil {
				t.Fatal(err)
			}
			diffIDs[driver] = m.DiffID
			if err := e.ls.Verify(t.Context(), m.ChainID); err != nil {
				t.Errorf("verify: %v", err)
			}
			rc, err := e.ls.Tar(m.ChainID)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			var gotLayer []string
			for _, h := range commitHeaders(t, b) {
				switch h.Typeflag {
				case '5':
					gotLayer = append(gotLayer, h.Name+" dir")
				case '0':
					gotLayer = append(gotLayer, fmt.Sprintf("%s reg %d", h.Name, h.Size))
				case '1':
					gotLayer = append(gotLayer, h.Name+" link "+h.Linkname)
				default:
					gotLayer = append(gotLayer, fmt.Sprintf("%s type %c", h.Name, h.Typeflag))
				}
			}
			if !slices.Equal(gotLayer, wantLayer) {
				t.Errorf("layer entries\n\tgot  %s\n\twant %s", strings.Join(gotLayer, ", "), strings.Join(wantLayer, ", "))
			}
		})
	}
	// The same layer, byte for byte (the commit's clamp evens the times).
	if len(diffIDs) == len(drivers) && diffIDs[union.Overlay] != diffIDs[union.VFS] {
		t.Errorf("diffIDs differ: %v", diffIDs)
	}
}
