package container

import (
	"fmt"
	"strings"

	digest "github.com/opencontainers/go-digest"

	"github.com/layerctl/layerctl/pkg/image"
)

// ResolveImage finds an image by ID (with or without sha256:), unique ID
// prefix or NAME[:TAG]. (Resolve finds a container.)
func (c *Store) ResolveImage(ref string) (image.Record, error) { return c.images.Resolve(ref) }

// minLayerPrefix is the shortest chain ID prefix taken: shorter ones would
// match by chance.
const minLayerPrefix = 4

// ResolveLayer finds a layer by chain ID (with or without sha256:) or a
// unique chain ID prefix, such as the 12 hex digits Layers are shown by.
func (c *Store) ResolveLayer(ref string) (digest.Digest, error) {
	if d, ok := c.fullChainID(ref); ok {
		return d, nil
	}
	found, err := c.layerPrefix(ref)
	if err != nil {
		return "", err
	}
	if len(found) == 0 {
		return "", fmt.Errorf("layer %s: %w", ref, ErrLayerNotFound)
	}
	return found[0], nil
}

// ResolveLayers turns a reference into layers: a chain ID (with or without
// sha256:) names one layer, an image reference the image's layers (base
// first), and, when no image has that name, a unique chain ID prefix one
// layer.
func (c *Store) ResolveLayers(ref string) ([]digest.Digest, error) {
	if d, ok := c.fullChainID(ref); ok {
		return []digest.Digest{d}, nil
	}
	r, err := c.images.Resolve(ref)
	if err == nil {
		return r.ChainIDs, nil
	}
	switch found, perr := c.layerPrefix(ref); {
	case perr != nil:
		return nil, perr
	case len(found) == 1:
		return found, nil
	}
	return nil, err
}

// fullChainID tells whether ref is the chain ID of a stored layer.
func (c *Store) fullChainID(ref string) (digest.Digest, bool) {
	for _, d := range []digest.Digest{digest.Digest(ref), digest.NewDigestFromEncoded(digest.SHA256, ref)} {
		if d.Validate() == nil && c.layers.Has(d) {
			return d, true
		}
	}
	return "", false
}

// layerPrefix finds the layers whose chain ID starts with prefix (with or
// without sha256:): none for a prefix too short or a store it cannot list,
// and an error besides them when more than one matches.
func (c *Store) layerPrefix(prefix string) ([]digest.Digest, error) {
	metas, err := c.layers.List()
	if err != nil || len(prefix) < minLayerPrefix {
		return nil, nil
	}
	var found []digest.Digest
	for _, m := range metas {
		if strings.HasPrefix(m.ChainID.Encoded(), strings.TrimPrefix(prefix, "sha256:")) {
			found = append(found, m.ChainID)
		}
	}
	if len(found) > 1 {
		return found, fmt.Errorf("chain ID prefix %s is ambiguous (%d layers)", prefix, len(found))
	}
	return found, nil
}
