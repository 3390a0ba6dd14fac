package container

import (
	"context"
	"fmt"

	digest "github.com/opencontainers/go-digest"

	"github.com/layerctl/layerctl/pkg/image"
)

// Save writes images into one docker-archive file (see image.Save).
func (c *Store) Save(ctx context.Context, refs []string, file string) error {
	return image.Save(ctx, c.layers, c.images, refs, file, image.PushOptions{})
}

// Loaded is an image Load took in: under Name, or, without one, by ID.
type Loaded struct {
	Name string // stored form; "" for an image the archive does not name
	ID   digest.Digest
}

// Load pulls every image of a docker archive, under each name it has there.
// An image without a name is loaded only when it is the archive's only one:
// a docker archive has no other way to point at it.
func (c *Store) Load(ctx context.Context, file string, opts image.PullOptions) ([]Loaded, error) {
	names, err := image.ArchiveNames(file)
	if err != nil {
		return nil, err
	}
	var out []Loaded
	for i, ns := range names {
		if len(ns) == 0 {
			if len(names) > 1 {
				return out, fmt.Errorf("image %d of %s has no name: a docker archive cannot point at it", i+1, file)
			}
			rec, err := c.Pull(ctx, "docker-archive:"+file, opts)
			if err != nil {
				return out, err
			}
			out = append(out, Loaded{ID: rec.ID})
		}
		for _, n := range ns {
			o := opts
			o.Name = n
			rec, err := c.Pull(ctx, "docker-archive:"+file+":"+n, o)
			if err != nil {
				return out, fmt.Errorf("image %s: %w", n, err)
			}
			out = append(out, Loaded{Name: image.NormalizeName(n), ID: rec.ID})
		}
	}
	return out, nil
}
