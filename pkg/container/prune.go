package container

import (
	"errors"
	"path/filepath"
)

// PrunedContainer is a container PruneContainers removed.
type PrunedContainer struct {
	ID     string
	RWSize int64 // what its read-write layer held
}

// PruneContainers removes every container that neither runs nor is
// mounted, as docker container prune does.
func (c *Store) PruneContainers() ([]PrunedContainer, error) {
	states, err := c.List()
	if err != nil {
		return nil, err
	}
	var out []PrunedContainer
	for _, s := range states {
		if s, err = c.Refresh(s); errors.Is(err, ErrNotFound) {
			continue
		} else if err != nil {
			return out, err
		}
		if s.Pid != 0 || s.MountCount != 0 {
			continue
		}
		size := treeSize(filepath.Join(c.Dir(s.ID), "rw"))
		if _, err := c.Remove(s.ID, false); errors.Is(err, ErrNotFound) || errors.Is(err, ErrInUse) {
			continue // gone, or started, meanwhile
		} else if err != nil {
			return out, err
		}
		out = append(out, PrunedContainer{ID: s.ID, RWSize: size})
	}
	return out, nil
}

// PruneImages removes the images no container uses: only those without a
// name (dangling), or, with all, every one. It returns what was removed and
// the bytes of layers freed.
func (c *Store) PruneImages(all bool) ([]ImageRemoval, int64, error) {
	before, err := c.LayersSize()
	if err != nil {
		return nil, 0, err
	}
	recs, err := c.images.List()
	if err != nil {
		return nil, 0, err
	}
	used, _, err := c.UsedImages()
	if err != nil {
		return nil, 0, err
	}
	var out []ImageRemoval
	for _, r := range recs {
		names, err := c.images.Names(r.ID)
		if err != nil {
			return out, 0, err
		}
		if used[r.ID] || len(names) > 0 && !all {
			continue
		}
		res, err := c.RemoveImage(r.ID.String(), true)
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrInUse) {
			continue // removed, or used, meanwhile
		} else if err != nil {
			return out, 0, err
		}
		if res.ID != "" {
			out = append(out, res)
		}
	}
	after, err := c.LayersSize()
	if err != nil {
		return out, 0, err
	}
	return out, before - after, nil
}
