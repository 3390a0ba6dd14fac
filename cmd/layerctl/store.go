package main

import (
	"github.com/urfave/cli/v2"

	"github.com/layerctl/layerctl/pkg/container"
)

// openStores opens (or creates) the store under --root with the driver the
// flags ask for.
func openStores(c *cli.Context, opts ...container.Option) (*container.Store, error) {
	return container.Open(c.String("root"), append(storeOptions(c), opts...)...)
}

// storeOptions are the global flags' options for the store.
func storeOptions(c *cli.Context) []container.Option {
	return []container.Option{container.WithDriver(c.String("driver"))}
}
