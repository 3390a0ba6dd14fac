package container

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sync"
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
	// A running container is frozen while its rw layer is read: the layer
	// is one moment of it, and no process of it can swap a directory for a
	// symlink to the host under the differ.
	thaw := func() {}
	if c.alive(s) {
		cg, err := cgroup.Open(s.ID)
		if err == nil {
			err = cg.Freeze()
		}
		if err != nil {
			return image.Record{}, layer.Meta{}, fmt.Errorf("commit %s: freeze the running container: %w", s.Name, err)
		}
		var once sync.Once
		thaw = func() { once.Do(func() { cg.Thaw() }) }
		defer thaw()
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
		go func() {
			err := write(pw)
			thaw() // read: the container may go on while the layer is stored
			pw.CloseWithError(err)
		}()
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
