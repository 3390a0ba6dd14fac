package main

import (
	"errors"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/layerctl/layerctl/pkg/container"
)

// openStores opens (or creates) the store under --root with the driver the
// flags ask for.
func openStores(c *cli.Context, opts ...container.Option) (*container.Store, error) {
	if err := needRoot(); err != nil {
		return nil, err
	}
	return container.Open(c.String("root"), append(storeOptions(c), opts...)...)
}

// storeOptions are the global flags' options for the store.
func storeOptions(c *cli.Context) []container.Option {
	return []container.Option{container.WithDriver(c.String("driver"))}
}

// errNeedsRoot is checked before the store is opened: without root, opening
// an existing root-owned store would fail as if it had to be created.
var errNeedsRoot = errors.New("needs root: the store mounts layers (overlay, aufs) and keeps " +
	"every file's owner, and run makes namespaces and cgroups, all of which only root may do (try sudo)")

func needRoot() error {
	if os.Geteuid() != 0 {
		return errNeedsRoot
	}
	return nil
}
