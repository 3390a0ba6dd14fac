package container

import (
	"context"

	digest "github.com/opencontainers/go-digest"

	"github.com/layerctl/layerctl/pkg/layer"
)

// Layer is the record of one layer of the store.
func (c *Store) Layer(chainID digest.Digest) (LayerMeta, error) { return c.layers.Get(chainID) }

// ChainChanges calls fn with each change that layer i of chain (an image's
// chain IDs, base first) makes to the layers beneath it, from the store's one
// change walker: what the explorer reads. The chain names the lower layers,
// so no parent record is read (an image of hundreds of layers would read
// them over and over). It only reads.
func (c *Store) ChainChanges(ctx context.Context, chain []digest.Digest, i int, fn func(layer.Change) error) error {
	lower := make([]string, 0, i)
	for j := i - 1; j >= 0; j-- {
		lower = append(lower, c.layers.DiffDir(chain[j]))
	}
	opts := layer.WalkOptions{Converter: c.layers.Converter(), Lower: lower}
	return layer.WalkChanges(ctx, c.layers.DiffDir(chain[i]), opts, fn)
}
