package main

import (
	"errors"
	"fmt"
	"strings"

	digest "github.com/opencontainers/go-digest"
	"github.com/urfave/cli/v2"

	"github.com/layerctl/layerctl/pkg/container"
)

var verifyCommand = &cli.Command{
	Name:      "verify",
	Usage:     "re-hash layers as tar streams and check them against their diffIDs",
	ArgsUsage: "[IMAGE|CHAIN-ID]...",
	Action: func(c *cli.Context) error {
		s, err := openStores(c)
		if err != nil {
			return err
		}
		defer s.Close()
		var ids []digest.Digest
		if c.NArg() == 0 {
			metas, err := s.Layers()
			if err != nil {
				return fmt.Errorf("verify: %w", err)
			}
			for _, m := range metas {
				ids = append(ids, m.ChainID)
			}
		}
		for _, arg := range c.Args().Slice() {
			found, err := s.ResolveLayers(arg)
			if err != nil {
				return fmt.Errorf("verify %s: %w", arg, err)
			}
			ids = append(ids, found...)
		}
		corrupt := 0
		for _, id := range ids {
			err := s.Verify(c.Context, id)
			switch {
			case err == nil:
				fmt.Printf("%s ok\n", id)
			case errors.Is(err, container.ErrCorrupt):
				corrupt++
				// The error starts with "corrupt" itself: show only the why.
				why := strings.TrimPrefix(strings.TrimPrefix(err.Error(), container.ErrCorrupt.Error()), ": ")
				fmt.Printf("%s CORRUPT %s\n", id, why)
			default:
				return fmt.Errorf("verify %s: %w", id, err)
			}
		}
		if corrupt > 0 {
			return fmt.Errorf("verify: %d of %d layers corrupt", corrupt, len(ids))
		}
		return nil
	},
}
