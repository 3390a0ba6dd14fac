package container

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	digest "github.com/opencontainers/go-digest"

	"github.com/layerctl/layerctl/pkg/layer"
)

// Images deeper than the driver stacks are mounted through a flattened base:
// the bottom layers merged once into one plain directory (no whiteouts left),
// cached as flat/<chainID hex> for the chainID of its top layer and shared by
// every container of that image (and of any image built on that chain).

// splitForDriver returns how many bottom layers of a chain must be
// flattened for the driver: 0 when the whole chain stacks. The read-only
// stack is init + the flattened base + the layers kept.
func (c *Store) splitForDriver(n int) int {
	max := c.driver.MaxLayers() // read-only branches, init included
	if n+1 <= max {
		return 0
	}
	return n - (max - 2)
}

func (c *Store) flatDir(top digest.Digest) string { return c.layers.Paths().Flat(top) }

// lowerDirs lists the read-only branches below a container's init layer, top
// first, making the flattened base when the image needs one.
func (c *Store) lowerDirs(s State) ([]string, error) {
	n := c.splitForDriver(len(s.ChainIDs))
	var dirs []string
	for i := len(s.ChainIDs) - 1; i >= n; i-- {
		dirs = append(dirs, c.layers.DiffDir(s.ChainIDs[i]))
	}
	if n == 0 {
		return dirs, nil
	}
	flat, err := c.flatten(s.ChainIDs[:n])
	if err != nil {
		return nil, err
	}
	return append(dirs, flat), nil
}

// flatten returns the cached merge of a chain (base first), making it when
// missing. Made under tmp/ and renamed, so a crash leaves no half merge.
func (c *Store) flatten(chain []digest.Digest) (string, error) {
	top := chain[len(chain)-1]
	dir := c.flatDir(top)
	err := c.layers.Locked("flat-"+top.Encoded(), func() error {
		if _, err := os.Stat(dir); err == nil {
			return nil
		}
		tmp, err := c.layers.TempDir("flat-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		merged := filepath.Join(tmp, "root")
		if err := os.Mkdir(merged, 0o755); err != nil {
			return err
		}
		layers := make([]string, len(chain))
		for i, id := range chain {
			layers[len(chain)-1-i] = c.layers.DiffDir(id)
		}
		// Read-only below the stack, so the layers' inodes can be shared.
		// Mounting, which asks for it, has no ctx to cancel: it runs to the end.
		if err := layer.Materialise(context.Background(), merged, layers, c.layers.Converter(), layer.MaterialiseOptions{Link: true}); err != nil {
			return err
		}
		root, err := c.rootAttrs(chain)
		if err != nil {
			return err
		}
		if err := root.apply(merged); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
			return err
		}
		return os.Rename(merged, dir)
	})
	if err != nil {
		return "", fmt.Errorf("flatten %d bottom layers: %w", len(chain), err)
	}
	return dir, nil
}

// GCFlat removes the flattened bases no container needs and returns how
// many it removed.
func (c *Store) GCFlat() (int, error) {
	var removed int
	err := c.locked(func() error {
		entries, err := os.ReadDir(c.layers.Paths().FlatRoot())
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		all, err := c.List()
		if err != nil {
			return err
		}
		needed := map[string]bool{}
		for _, s := range all {
			if n := c.splitForDriver(len(s.ChainIDs)); n > 0 {
				needed[s.ChainIDs[n-1].Encoded()] = true
			}
		}
		for _, e := range entries {
			if needed[e.Name()] {
				continue
			}
			tmp, err := c.layers.TempDir("rm-flat-")
			if err != nil {
				return err
			}
			if err := os.Rename(filepath.Join(c.layers.Paths().FlatRoot(), e.Name()), filepath.Join(tmp, "f")); err != nil {
				return err
			}
			if err := os.RemoveAll(tmp); err != nil {
				return err
			}
			removed++
		}
		return nil
	})
	return removed, err
}
