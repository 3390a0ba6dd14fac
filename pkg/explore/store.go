package explore

import (
	"context"
	"encoding/json"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	digest "github.com/opencontainers/go-digest"

	"github.com/layerctl/layerctl/pkg/image"
	"github.com/layerctl/layerctl/pkg/layer"
)

// Store is what the explorer reads of a store: the facade
// (*container.Store) has it.
type Store interface {
	ResolveImage(ref string) (image.Record, error)
	ImageConfig(id digest.Digest) ([]byte, error)
	Layer(chainID digest.Digest) (layer.Meta, error)
	ChainChanges(ctx context.Context, chain []digest.Digest, i int, fn func(layer.Change) error) error
}

// imageConfig resolves ref and reads its config.
func imageConfig(s Store, ref string) (image.Record, *v1.ConfigFile, error) {
	rec, err := s.ResolveImage(ref)
	if err != nil {
		return image.Record{}, nil, err
	}
	raw, err := s.ImageConfig(rec.ID)
	if err != nil {
		return image.Record{}, nil, fmt.Errorf("image %s: config: %w", rec.ID, err)
	}
	var cf v1.ConfigFile
	if err := json.Unmarshal(raw, &cf); err != nil {
		return image.Record{}, nil, fmt.Errorf("image %s: config: %w", rec.ID, err)
	}
	return rec, &cf, nil
}
