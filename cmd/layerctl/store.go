package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/layerctl/layerctl/pkg/container"
	"github.com/layerctl/layerctl/pkg/image"
	"github.com/layerctl/layerctl/pkg/layer"
	"github.com/layerctl/layerctl/pkg/union"
)

// stores are what every command works on.
type stores struct {
	layers     *layer.Store
	images     *image.Images
	containers *container.Store
}

func (s *stores) Close() { s.layers.Close() }

// openStores opens (or creates) the store under --root with the driver the
// flags ask for.
func openStores(c *cli.Context) (*stores, error) { return openStoresWith(c, false) }

// openStoresNoHold opens the stores for a pull: the store lock is taken
// only around its local steps, so that gc and rmi do not wait for a
// registry.
func openStoresNoHold(c *cli.Context) (*stores, error) { return openStoresWith(c, true) }

func openStoresWith(c *cli.Context, noHold bool) (*stores, error) {
	features := union.Detect()
	driver := c.String("driver")
	if driver != "" {
		if _, err := union.WhiteoutFormat(driver); err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
	}
	ls, err := layer.Open(c.String("root"), layer.OpenOptions{
		Driver: driver,
		Default: func() (layer.Settings, error) {
			d := features.Default()
			f, err := union.WhiteoutFormat(d)
			return layer.Settings{Driver: d, Whiteout: f}, err
		},
		FormatFor: union.WhiteoutFormat,
		NoHold:    noHold,
	})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	im, err := image.NewImages(ls)
	if err != nil {
		ls.Close()
		return nil, err
	}
	cs, err := container.NewStore(ls, im, features)
	if err != nil {
		ls.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	return &stores{layers: ls, images: im, containers: cs}, nil
}
