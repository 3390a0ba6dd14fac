package container

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	digest "github.com/opencontainers/go-digest"

	"github.com/layerctl/layerctl/pkg/image"
	"github.com/layerctl/layerctl/pkg/layer"
)

// What a builder needs beside create, run and commit: a layer from a tar
// stream, a container's changes as a bare layer, and an image recorded from
// a config it wrote itself.

// PutConfig records an image of cfg, whose rootfs diffIDs must all be
// stored layers, named name ("" for none); its bottom baseLayers layers are
// the image it was built FROM. It returns the image ID.
func (c *Store) PutConfig(cfg *v1.ConfigFile, name string, baseLayers int) (digest.Digest, error) {
	if baseLayers < 0 || baseLayers > len(cfg.RootFS.DiffIDs) {
		return "", fmt.Errorf("record image: a base of %d layers in an image of %d", baseLayers, len(cfg.RootFS.DiffIDs))
	}
	rec := image.Record{Source: "build", Pulled: time.Now().UTC(), BaseLayers: baseLayers}
	for _, h := range cfg.RootFS.DiffIDs {
		rec.DiffIDs = append(rec.DiffIDs, digest.Digest(h.String()))
	}
	rec.ChainIDs = layer.ChainIDs(rec.DiffIDs)
	for _, id := range rec.ChainIDs {
		m, err := c.layers.Get(id)
		if err != nil {
			return "", fmt.Errorf("record image: layer %s: %w", id, err)
		}
		rec.Size += m.Size
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return "", err
	}
	if rec.ID, err = c.layers.PutBlob(raw); err != nil {
		return "", err
	}
	if err := c.images.Put(rec, name); err != nil {
		return "", err
	}
	return rec.ID, nil
}

// PutLayer stores the layer that write's tar stream makes over the layer
// parent ("" for a base layer).
func (c *Store) PutLayer(ctx context.Context, parent digest.Digest, write func(io.Writer) error) (LayerMeta, error) {
	m, _, err := c.layers.Put(ctx, parent, func(context.Context) (io.ReadCloser, []layer.Blob, error) {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(write(pw)) }()
		return pr, nil, nil
	})
	return m, err
}

// CommitLayer stores a stopped container's changes as a layer over its
// image's top, by the same differ as Commit, with no image record of its
// own. changed is false, and no layer is stored, when the container changed
// nothing.
func (c *Store) CommitLayer(ctx context.Context, ref string, clamp time.Time) (m LayerMeta, changed bool, err error) {
	changes, err := c.Diff(ctx, ref)
	if err != nil || len(changes) == 0 {
		return LayerMeta{}, false, err
	}
	rec, m, err := c.Commit(ctx, ref, CommitOptions{Clamp: clamp})
	if err != nil {
		return LayerMeta{}, false, err
	}
	// Commit records an image the builder has no use for: the builder
	// records its own config over the layer.
	if _, _, err := c.images.Remove(rec.ID.String(), true); err != nil {
		return LayerMeta{}, false, err
	}
	return m, true, nil
}

// ImageConfigFile resolves an image and reads its config (a builder's FROM).
func (c *Store) ImageConfigFile(ref string) (digest.Digest, *v1.ConfigFile, error) {
	rec, err := c.images.Resolve(ref)
	if err != nil {
		return "", nil, err
	}
	raw, err := c.layers.Blob(rec.ID)
	if err != nil {
		return "", nil, err
	}
	var cfg v1.ConfigFile
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return "", nil, fmt.Errorf("image %s config: %w", rec.ID, err)
	}
	return rec.ID, &cfg, nil
}

// ChainIDs are the chain IDs of a stack of layers' diffIDs, base first.
var ChainIDs = layer.ChainIDs

// PullOptions describe a pull (Pull).
type PullOptions = image.PullOptions

// DropRecord removes an image record a builder made for its own steps,
// keeping its layers (the build goes on over them) and any image with a
// name.
func (c *Store) DropRecord(id digest.Digest) error {
	if names, err := c.images.Names(id); err != nil || len(names) > 0 {
		return err
	}
	_, _, err := c.images.Remove(id.String(), false)
	return err
}
