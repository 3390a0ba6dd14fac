package container

import (
	"fmt"
	"sort"
	"sync"

	"github.com/layerctl/layerctl/pkg/cgroup"
	"github.com/layerctl/layerctl/pkg/image"
	"github.com/layerctl/layerctl/pkg/layer"
	"github.com/layerctl/layerctl/pkg/union"
)

// Option changes how Open opens a store.
type Option func(*options)

type options struct {
	driver string
	noHold bool
}

// WithDriver asks for a union driver: overlay, aufs or vfs. A new store
// records it; an existing one must have been created with it. Without it a
// new store takes overlay, else aufs, else vfs.
func WithDriver(name string) Option { return func(o *options) { o.driver = name } }

// NoHold opens the store for a pull: the store's shared lock is taken only
// around the pull's local steps, not for as long as the store is open, so
// that gc and rmi need not wait for a registry.
func NoHold() Option { return func(o *options) { o.noHold = true } }

func makeOptions(opts []Option) (options, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.driver != "" {
		if _, err := union.WhiteoutFormat(o.driver); err != nil {
			return o, err
		}
	}
	return o, nil
}

// Open opens (or creates) the store at root as a whole: its layers, images
// and containers. It holds the store's shared lock until Close (see
// NoHold), so that gc, which takes it exclusively, never runs beside it.
func Open(root string, opts ...Option) (*Store, error) {
	features := sync.OnceValue(union.Detect)
	o, err := makeOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	ls, err := layer.Open(root, layer.OpenOptions{
		Driver: o.driver,
		Default: func() (layer.Settings, error) {
			d := features().Default()
			f, err := union.WhiteoutFormat(d)
			return layer.Settings{Driver: d, Whiteout: f}, err
		},
		FormatFor: union.WhiteoutFormat,
		NoHold:    o.noHold,
		Check:     func(root string, s layer.Settings) error { return union.CheckBacking(s.Driver, root) },
	})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	im, err := image.NewImages(ls)
	if err != nil {
		ls.Close()
		return nil, err
	}
	cs, err := newStore(ls, im, newLazyDriver(ls.Settings().Driver, features), features)
	if err != nil {
		ls.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	return cs, nil
}

// Close releases the store's lock. A started container's process goes on:
// its Running needs no open store (close early, so that gc need not wait
// for a long-running container).
func (c *Store) Close() error { return c.layers.Close() }

// Root is the store's directory.
func (c *Store) Root() string { return c.layers.Root() }

// StoreInfo describes a store and the kernel features it uses.
type StoreInfo struct {
	Root, Driver, Whiteout string
	BackingFS              string // the filesystem under the root
	DType                  bool   // whether it reports file types in directory entries
	Kernel                 string
	Overlay, AUFS          bool
	OverlayOptions         []string // overlay's module parameters, sorted
	CgroupVersion          string   // "v1", "v2" or "hybrid"
	Images, Layers         int
}

// Info describes the store: its driver, its backing filesystem, the
// kernel's union and cgroup features, and how many images and layers it
// holds.
func (c *Store) Info() (StoreInfo, error) {
	f := c.features()
	fsType, dType, err := union.Backing(c.layers.Root())
	if err != nil {
		return StoreInfo{}, err
	}
	recs, err := c.images.List()
	if err != nil {
		return StoreInfo{}, err
	}
	metas, err := c.layers.List()
	if err != nil {
		return StoreInfo{}, err
	}
	opts := []string{}
	for o := range f.OverlayOptions {
		opts = append(opts, o)
	}
	sort.Strings(opts)
	settings := c.layers.Settings()
	return StoreInfo{
		Root: c.layers.Root(), Driver: settings.Driver, Whiteout: string(settings.Whiteout),
		BackingFS: fsType, DType: dType, Kernel: f.Kernel, Overlay: f.Overlay, AUFS: f.AUFS,
		OverlayOptions: opts, CgroupVersion: cgroup.Layout(), Images: len(recs), Layers: len(metas),
	}, nil
}
