package container

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/layerctl/layerctl/pkg/cgroup"
	"github.com/layerctl/layerctl/pkg/image"
	"github.com/layerctl/layerctl/pkg/layer"
	"github.com/layerctl/layerctl/pkg/union"
)

// CommitOptions describe a commit.
type CommitOptions struct {
	image.CommitOptions
	// Clamp caps the mtimes written into the layer (SOURCE_DATE_EPOCH), so
	// the same change gives the same diffID; zero keeps them.
	Clamp time.Time
}

// Commit turns a container's read-write layer into a new layer over its
// image and records a new image. Only the rw layer is read: the -init
// layer's files and the mountpoints never reach the commit, even when a
// process wrote to them. The container may be mounted.
func (c *Store) Commit(ctx context.Context, ref string, opts CommitOptions) (image.Record, layer.Meta, error) {
	s, err := c.Resolve(ref)
	if err != nil {
		return image.Record{}, layer.Meta{}, fmt.Errorf("commit %s: %w", ref, err)
	}
	// A bad change found after the layer is stored would leave it behind.
	if err := image.CheckChanges(opts.Changes); err != nil {
		return image.Record{}, layer.Meta{}, fmt.Errorf("commit %s: %w", s.Name, err)
	}
	parent, err := c.images.Get(s.Image)
	if err != nil {
		return image.Record{}, layer.Meta{}, fmt.Errorf("commit %s: its image: %w", s.Name, err)
	}
	if opts.Created.IsZero() {
		opts.Created = time.Now()
	}
	// A running container is frozen while its rw layer is read, so the
	// layer is one moment of it, not files from different moments.
	if c.alive(s) {
		if cg, err := cgroup.Open(s.ID); err == nil {
			if err := cg.Freeze(); err != nil {
				return image.Record{}, layer.Meta{}, fmt.Errorf("commit %s: freeze: %w", s.Name, err)
			}
			defer cg.Thaw()
		}
	}
	rw := filepath.Join(c.Dir(s.ID), "rw")
	diffOpts := layer.DiffOptions{Converter: c.layers.Converter(), Exclude: layer.ExcludeInit, Clamp: opts.Clamp}
	// The differ's tar goes straight into the applier: the new layer is
	// stored once, hashed on the way, with no temporary tarball.
	write := func(w io.Writer) error { return layer.WriteDiff(w, rw, diffOpts) }
	if union.Copies(c.driver) {
		// A vfs rw dir is the whole rootfs: only what differs is written.
		changes, err := c.Diff(s.ID)
		if err != nil {
			return image.Record{}, layer.Meta{}, err
		}
		list := make([]layer.Change, len(changes))
		for i, ch := range changes {
			list[i] = layer.Change{Path: ch.Path[1:], Deleted: ch.Kind == 'D'}
		}
		write = func(w io.Writer) error { return layer.WriteChanges(w, rw, list, diffOpts) }
	}
	m, _, err := c.layers.Put(ctx, s.Top(), func(context.Context) (io.ReadCloser, []layer.Blob, error) {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(write(pw)) }()
		return pr, nil, nil
	})
	if err != nil {
		return image.Record{}, layer.Meta{}, fmt.Errorf("commit %s: %w", s.Name, err)
	}
	rec, err := image.Commit(c.layers, c.images, &parent, m, opts.CommitOptions)
	if err != nil {
		return image.Record{}, layer.Meta{}, fmt.Errorf("commit %s: %w", s.Name, err)
	}
	return rec, m, nil
}
