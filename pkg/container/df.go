package container

import (
	"errors"
	"io/fs"
	"path/filepath"
	"slices"

	digest "github.com/opencontainers/go-digest"

	"github.com/layerctl/layerctl/pkg/image"
)

// DiskUsage is what system df shows: the store's images, containers and
// layers, with what is shared and what removing the unused would free.
type DiskUsage struct {
	Images     []ImageUsage
	Containers []ContainerUsage
	Layers     []LayerUsage
	Volumes    []VolumeUsage
}

// VolumeUsage is one named volume's data and the containers naming it.
type VolumeUsage struct {
	VolumeInfo
	Size       int64 // bytes of the files in it
	Containers int
}

// ImageUsage is one image's share of the layers.
type ImageUsage struct {
	image.Record
	Names      []string // stored form
	Shared     int64    // its layers' size that other images or containers use too
	Unique     int64    // its layers' size that only it uses
	Containers int      // containers made of it
}

// ContainerUsage is one container's read-write layer.
type ContainerUsage struct {
	State
	Status string
	RWSize int64 // bytes of the files in its read-write layer
}

// LayerUsage is one layer and who uses it.
type LayerUsage struct {
	LayerMeta
	Images, Containers int // that have it in their layer chain
}

// DiskUsage measures the store. A layer's size counts once, however many
// images share it.
func (c *Store) DiskUsage() (DiskUsage, error) {
	var du DiskUsage
	recs, err := c.images.List()
	if err != nil {
		return du, err
	}
	states, err := c.List()
	if err != nil {
		return du, err
	}
	metas, err := c.layers.List()
	if err != nil {
		return du, err
	}
	imagesOf, ctrsOf := map[digest.Digest]int{}, map[digest.Digest]int{}
	for _, r := range recs {
		for _, id := range r.ChainIDs {
			imagesOf[id]++
		}
	}
	for i, s := range states {
		if s, err = c.Refresh(s); errors.Is(err, ErrNotFound) {
			continue
		} else if err != nil {
			return du, err
		}
		states[i] = s
		for _, id := range s.ChainIDs {
			ctrsOf[id]++
		}
		du.Containers = append(du.Containers, ContainerUsage{State: s, Status: s.Status(), RWSize: treeSize(filepath.Join(c.Dir(s.ID), "rw"))})
	}
	vols, err := c.ListVolumes()
	if err != nil {
		return du, err
	}
	for _, v := range vols {
		vu := VolumeUsage{VolumeInfo: v, Size: treeSize(v.Mountpoint)}
		for _, s := range states {
			if s.Run != nil && slices.ContainsFunc(s.Run.Volumes, func(sv Volume) bool { return sv.Name == v.Name }) {
				vu.Containers++
			}
		}
		du.Volumes = append(du.Volumes, vu)
	}
	sizes := map[digest.Digest]int64{}
	for _, m := range metas {
		sizes[m.ChainID] = m.Size
		du.Layers = append(du.Layers, LayerUsage{LayerMeta: m, Images: imagesOf[m.ChainID], Containers: ctrsOf[m.ChainID]})
	}
	for _, r := range recs {
		names, err := c.images.Names(r.ID)
		if err != nil {
			return du, err
		}
		iu := ImageUsage{Record: r, Names: names}
		for _, s := range states {
			if s.Image == r.ID {
				iu.Containers++
			}
		}
		for _, id := range r.ChainIDs {
			if imagesOf[id] > 1 || ctrsOf[id] > iu.Containers {
				iu.Shared += sizes[id]
			} else {
				iu.Unique += sizes[id]
			}
		}
		du.Images = append(du.Images, iu)
	}
	return du, nil
}

// treeSize is the size of the regular files under dir (0 when it is gone).
func treeSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// LayersSize is the total size of the stored layers.
func (c *Store) LayersSize() (int64, error) {
	metas, err := c.layers.List()
	if err != nil {
		return 0, err
	}
	var n int64
	for _, m := range metas {
		n += m.Size
	}
	return n, nil
}

// UsageSummary is a line of system df: Images, Containers or Layers.
type UsageSummary struct {
	Type        string
	Total       int
	Active      int   // images and layers a container uses; running containers
	Size        int64 // layers count once
	Reclaimable int64 // what the prunes (image prune -a, container prune) and gc would free
}

// Summary is system df's three lines.
func (du DiskUsage) Summary() []UsageSummary {
	im := UsageSummary{Type: "Images", Total: len(du.Images)}
	ct := UsageSummary{Type: "Containers", Total: len(du.Containers)}
	ly := UsageSummary{Type: "Layers", Total: len(du.Layers)}
	for _, l := range du.Layers {
		ly.Size += l.Size
		if l.Images > 0 || l.Containers > 0 {
			ly.Active++
		} else {
			ly.Reclaimable += l.Size
		}
		if l.Images > 0 {
			im.Size += l.Size
			if l.Containers == 0 {
				im.Reclaimable += l.Size
			}
		}
	}
	for _, i := range du.Images {
		if i.Containers > 0 {
			im.Active++
		}
	}
	for _, c := range du.Containers {
		ct.Size += c.RWSize
		if c.Pid > 0 {
			ct.Active++
		} else if c.MountCount == 0 {
			ct.Reclaimable += c.RWSize
		}
	}
	vo := UsageSummary{Type: "Local Volumes", Total: len(du.Volumes)}
	for _, v := range du.Volumes {
		vo.Size += v.Size
		if v.Containers > 0 {
			vo.Active++
		} else {
			vo.Reclaimable += v.Size
		}
	}
	return []UsageSummary{im, ct, ly, vo}
}
