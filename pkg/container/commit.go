package container

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/image"
	"github.com/layerctl/layerctl/pkg/layer"
	"github.com/layerctl/layerctl/pkg/ns"
	"github.com/layerctl/layerctl/pkg/union"
)

// CommitOptions describe a commit.
type CommitOptions struct {
	image.CommitOptions
	// Clamp caps the mtimes written into the layer (SOURCE_DATE_EPOCH), so
	// the same change gives the same diffID; zero keeps them.
	Clamp time.Time
}

// afterFreeze, when set (by tests only), runs while Commit holds a running
// container frozen: a test kills the committer there.
var afterFreeze func()

// CheckChanges validates commit --change lines (see image.ApplyChange)
// before any work is done.
func CheckChanges(changes []string) error { return image.CheckChanges(changes, ns.ParseSignal) }

// Commit turns a container's read-write layer into a new layer over its
// image and records a new image. Only the rw layer is read: the -init
// layer's files and the mountpoints never reach the commit, even when a
// process wrote to them. The container may be mounted.
func (c *Store) Commit(ctx context.Context, ref string, opts CommitOptions) (image.Record, layer.Meta, error) {
	s, err := c.Resolve(ref)
	if err != nil {
		return image.Record{}, layer.Meta{}, fmt.Errorf("commit %s: %w", ref, err)
	}
	if s, err = c.settleFreeze(s); err != nil {
		return image.Record{}, layer.Meta{}, fmt.Errorf("commit %s: %w", ref, err)
	}
	// A bad change found after the layer is stored would leave it behind.
	opts.ParseSignal = ns.ParseSignal
	if err := image.CheckChanges(opts.Changes, opts.ParseSignal); err != nil {
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
	thaw := func() error { return nil }
	if c.alive(s) {
		unfreeze, err := c.freeze(s)
		if err != nil {
			return image.Record{}, layer.Meta{}, fmt.Errorf("commit %s: %w", s.Name, err)
		}
		var once sync.Once
		var thawErr error
		thaw = func() error {
			once.Do(func() { thawErr = unfreeze() })
			return thawErr
		}
		defer thaw()
		if afterFreeze != nil {
			afterFreeze()
		}
	}
	write, err := c.diffWriter(ctx, s, opts.Clamp)
	if err != nil {
		return image.Record{}, layer.Meta{}, fmt.Errorf("commit %s: %w", s.Name, err)
	}
	m, _, err := c.layers.Put(ctx, s.Top(), func(context.Context) (io.ReadCloser, []layer.Blob, error) {
		pr, pw := io.Pipe()
		go func() {
			err := write(pw)
			// Read: the container may go on while the layer is stored. A
			// container left frozen fails the commit rather than hide.
			if terr := thaw(); err == nil {
				err = terr
			}
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

// diffWriter returns what writes a container's change as a layer tar. The
// differ's tar goes straight into the applier: the new layer is stored
// once, hashed on the way, with no temporary tarball.
func (c *Store) diffWriter(ctx context.Context, s State, clamp time.Time) (func(io.Writer) error, error) {
	rw := c.part(s.ID, layer.ContainerRW)
	diffOpts := layer.DiffOptions{Converter: c.layers.Converter(), Exclude: ExcludeInit, Clamp: clamp}
	if !union.Copies(c.driver) {
		return func(w io.Writer) error { return layer.WriteDiff(ctx, w, rw, diffOpts) }, nil
	}
	// A vfs rw dir is the whole rootfs: only what differs is written.
	changes, err := c.Diff(ctx, s.ID)
	if err != nil {
		return nil, err
	}
	list, err := changeList(rw, changes)
	if err != nil {
		return nil, err
	}
	return func(w io.Writer) error { return layer.WriteChanges(ctx, w, list, diffOpts) }, nil
}

// changeList turns diff's lines into the differ's changes, each read from
// the full tree rw.
func changeList(rw string, changes []Change) ([]layer.Change, error) {
	list := make([]layer.Change, len(changes))
	for i, ch := range changes {
		list[i] = layer.Change{Kind: layer.Deleted, Path: ch.Path[1:]}
		if ch.Kind == 'D' {
			continue
		}
		list[i].Kind, list[i].Source = layer.Modified, rw+ch.Path
		if err := unix.Lstat(list[i].Source, &list[i].Stat); err != nil {
			return nil, err
		}
	}
	return list, nil
}
