package main

import (
	"errors"
	"fmt"
	"strings"

	digest "github.com/opencontainers/go-digest"
	"github.com/urfave/cli/v2"

	"github.com/layerctl/layerctl/pkg/layer"
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
			metas, err := s.layers.List()
			if err != nil {
				return fmt.Errorf("verify: %w", err)
			}
			for _, m := range metas {
				ids = append(ids, m.ChainID)
			}
		}
		for _, arg := range c.Args().Slice() {
			found, err := verifyTargets(s, arg)
			if err != nil {
				return fmt.Errorf("verify %s: %w", arg, err)
			}
			ids = append(ids, found...)
		}
		corrupt := 0
		for _, id := range ids {
			err := s.layers.Verify(id)
			switch {
			case err == nil:
				fmt.Printf("%s ok\n", id)
			case errors.Is(err, layer.ErrCorrupt):
				corrupt++
				// The error starts with "corrupt" itself: show only the why.
				why := strings.TrimPrefix(strings.TrimPrefix(err.Error(), layer.ErrCorrupt.Error()), ": ")
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

// verifyTargets turns an argument into layers: a chainID (full or with
// sha256:) names one layer, anything else an image and all its layers.
func verifyTargets(s *stores, arg string) ([]digest.Digest, error) {
	for _, d := range []digest.Digest{digest.Digest(arg), digest.NewDigestFromEncoded(digest.SHA256, arg)} {
		if d.Validate() == nil && s.layers.Has(d) {
			return []digest.Digest{d}, nil
		}
	}
	r, err := s.images.Resolve(arg)
	if err == nil {
		return r.ChainIDs, nil
	}
	// The short chain IDs that layers prints, when no image has that name.
	if metas, lerr := s.layers.List(); lerr == nil && len(arg) >= 4 {
		var found []digest.Digest
		for _, m := range metas {
			if strings.HasPrefix(m.ChainID.Encoded(), strings.TrimPrefix(arg, "sha256:")) {
				found = append(found, m.ChainID)
			}
		}
		if len(found) == 1 {
			return found, nil
		}
		if len(found) > 1 {
			return nil, fmt.Errorf("chain ID prefix %s is ambiguous (%d layers)", arg, len(found))
		}
	}
	return nil, err
}
