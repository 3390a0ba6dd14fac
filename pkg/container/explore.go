package container

import (
	"context"

	digest "github.com/opencontainers/go-digest"

	"github.com/layerctl/layerctl/pkg/layer"
)

// Layer is the record of one layer of the store.
func (c *Store) Layer(chainID digest.Digest) (LayerMeta, error) { return c.layers.Get(chainID) }

// LayerChanges calls fn with each change that the layer chainID makes to the
// layers beneath it, from the store's one change walker: what the explorer
// and history read. It only reads.
func (c *Store) LayerChanges(ctx context.Context, chainID digest.Digest, fn func(layer.Change) error) error {
	return c.layers.LayerChanges(ctx, chainID, fn)
}
