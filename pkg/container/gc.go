package container

import (
	"context"
	"fmt"

	digest "github.com/opencontainers/go-digest"
)

// GCResult is what GC freed.
type GCResult struct {
	Layers    []LayerMeta // the layers removed
	Blobs     int         // manifests and configs removed
	FlatBases int         // flattened bases of deep images removed
}

// Freed is the size of the removed layers.
func (r GCResult) Freed() int64 {
	var n int64
	for _, m := range r.Layers {
		n += m.Size
	}
	return n
}

// GC removes what no image or container uses, in three phases: layers,
// then blobs (manifests, configs), then the flattened bases no container
// needs. Each phase waits until no other process has the store open; a
// pull opened with NoHold does not count, and the layers it has fetched so
// far stay. On error the result holds what the phases before it freed.
func (c *Store) GC(ctx context.Context) (GCResult, error) {
	var res GCResult
	c.reclaimTrash()
	removed, err := c.layers.GC(c.referencedTops, nil)
	if err != nil {
		return res, err
	}
	res.Layers = removed
	if _, err := c.pruneBuildCache(); err != nil {
		return res, fmt.Errorf("prune build cache: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	err = c.layers.Exclusive(func() error {
		// What is referenced is read once no other process runs.
		_, blobs, err := c.referenced()
		if err != nil {
			return err
		}
		ds, err := c.layers.RemoveBlobs(blobs)
		res.Blobs = len(ds)
		return err
	})
	if err != nil {
		return res, fmt.Errorf("remove blobs: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	if res.FlatBases, err = c.GCFlat(); err != nil {
		return res, fmt.Errorf("remove flattened bases: %w", err)
	}
	return res, nil
}

// ImageRemoval is what RemoveImage did.
type ImageRemoval struct {
	ID       digest.Digest // the image removed; empty when only names went
	Untagged []string      // the names taken off, in their stored form
	// Kept tells that containers use the image: force took only its
	// names, and the containers keep it (listed without a name).
	Kept bool
}

// RemoveImage removes an image by ID, ID prefix or name, and the layers no
// other image or container uses. An image with several names loses only
// the one given (force or not); one named by ID is refused unless force.
// An image a container uses is refused, or with force loses all its names
// and stays.
func (c *Store) RemoveImage(ref string, force bool) (ImageRemoval, error) {
	rec, err := c.images.Resolve(ref)
	if err != nil {
		return ImageRemoval{}, err
	}
	// One of several names goes alone, even while a container uses the
	// image: the image itself stays under its other names.
	if n, err := c.images.UntagShared(ref); err != nil || n != "" {
		return ImageRemoval{Untagged: []string{n}}, err
	}
	used, _, err := c.UsedImages()
	if err != nil {
		return ImageRemoval{}, err
	}
	if used[rec.ID] {
		if !force {
			return ImageRemoval{}, fmt.Errorf("image %s is used by a container: %w (remove the container or use -f)", shortID(rec.ID), ErrImageInUse)
		}
		untagged, err := c.images.UntagAll(rec.ID)
		if err != nil {
			return ImageRemoval{}, err
		}
		return ImageRemoval{Untagged: untagged, Kept: true}, nil
	}
	removed, untagged, err := c.images.Remove(ref, force)
	if err != nil {
		return ImageRemoval{}, err
	}
	res := ImageRemoval{ID: removed, Untagged: untagged}
	if removed == "" {
		return res, nil
	}
	if _, err := c.layers.GC(c.referencedTops, rec.ChainIDs); err != nil {
		return res, fmt.Errorf("remove layers: %w", err)
	}
	return res, nil
}

// LayerRefs counts, per layer, the images and containers whose layer chain
// includes it.
func (c *Store) LayerRefs() (map[digest.Digest]int, error) {
	recs, err := c.images.List()
	if err != nil {
		return nil, err
	}
	refs := map[digest.Digest]int{}
	for _, r := range recs {
		for _, id := range r.ChainIDs {
			refs[id]++
		}
	}
	ctrs, err := c.List()
	if err != nil {
		return nil, err
	}
	for _, s := range ctrs {
		for _, id := range s.ChainIDs {
			refs[id]++
		}
	}
	return refs, nil
}

// referenced is gc's root set: every image's and container's top layer
// (a layer keeps its parents), and the images' config and manifest blobs.
func (c *Store) referenced() (tops []digest.Digest, blobs map[digest.Digest]bool, err error) {
	recs, err := c.images.List()
	if err != nil {
		return nil, nil, err
	}
	blobs = map[digest.Digest]bool{}
	for _, r := range recs {
		if top := r.Top(); top != "" {
			tops = append(tops, top)
		}
		blobs[r.ID] = true
		if r.Manifest != "" {
			blobs[r.Manifest] = true
		}
	}
	// A container keeps its image's layers even after rmi -f.
	_, ctrTops, err := c.UsedImages()
	if err != nil {
		return nil, nil, err
	}
	return append(tops, ctrTops...), blobs, nil
}

// referencedTops is referenced's top layers alone (the layer store's keep).
func (c *Store) referencedTops() ([]digest.Digest, error) {
	tops, _, err := c.referenced()
	return tops, err
}

// shortID is the 12-hex form of an ID that messages show.
func shortID(d digest.Digest) string {
	if e := d.Encoded(); len(e) > 12 {
		return e[:12]
	}
	return d.String()
}
