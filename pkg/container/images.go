package container

import (
	"context"

	digest "github.com/opencontainers/go-digest"

	"github.com/layerctl/layerctl/pkg/image"
)

// Pull copies an image from a registry, an OCI layout (oci:DIR[:TAG]) or a
// docker archive (docker-archive:FILE) into the store. Open the store with
// NoHold for it, so that gc and rmi need not wait for the source.
func (c *Store) Pull(ctx context.Context, src string, opts image.PullOptions) (image.Record, error) {
	return image.Pull(ctx, c.layers, c.images, src, opts)
}

// Push sends an image of the store to a registry, an OCI layout or a
// docker archive, and returns its manifest digest.
func (c *Store) Push(ctx context.Context, ref, dest string, opts image.PushOptions) (digest.Digest, error) {
	return image.Push(ctx, c.layers, c.images, ref, dest, opts)
}

// Images lists the image records.
func (c *Store) Images() ([]image.Record, error) { return c.images.List() }

// TagImage gives the image src names (a name, ID or ID prefix) the name
// newName (NAME[:TAG]); a name that named another image moves. It returns
// the name's stored form.
func (c *Store) TagImage(src, newName string) (string, error) { return c.images.Tag(src, newName) }

// ImageRefs maps every image name (in its stored form) to its image ID.
func (c *Store) ImageRefs() (map[string]digest.Digest, error) { return c.images.Refs() }

// ImageNames lists the names of an image, in their stored form.
func (c *Store) ImageNames(id digest.Digest) ([]string, error) { return c.images.Names(id) }

// ImageConfig is an image's config blob as stored (its digest is the
// image ID).
func (c *Store) ImageConfig(id digest.Digest) ([]byte, error) { return c.layers.Blob(id) }

// Layers lists every layer, sorted by chain ID.
func (c *Store) Layers() ([]LayerMeta, error) { return c.layers.List() }

// Verify reassembles a layer's tar stream from its diff dir and recorded
// headers and checks it against the layer's diffID and headers: an error
// that is ErrCorrupt tells a damaged layer.
func (c *Store) Verify(ctx context.Context, chainID digest.Digest) error {
	return c.layers.Verify(ctx, chainID)
}
