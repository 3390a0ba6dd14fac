package main

import (
	"fmt"

	digest "github.com/opencontainers/go-digest"
	"log/slog"

	"github.com/urfave/cli/v2"

	"github.com/layerctl/layerctl/pkg/image"
	"github.com/layerctl/layerctl/pkg/layer"
)

var rmiCommand = &cli.Command{
	Name:      "rmi",
	Usage:     "remove an image; its layers go unless another image uses them",
	ArgsUsage: "IMAGE",
	Flags:     []cli.Flag{&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "remove every name of the image; an image a container uses keeps its layers and record"}},
	Action: func(c *cli.Context) error {
		if c.NArg() != 1 {
			return fmt.Errorf("rmi: want one IMAGE")
		}
		arg := c.Args().First()
		s, err := openStores(c)
		if err != nil {
			return err
		}
		defer s.Close()
		rec, err := s.images.Resolve(arg)
		if err != nil {
			return fmt.Errorf("rmi %s: %w", arg, err)
		}
		used, _, err := s.containers.UsedImages()
		if err != nil {
			return fmt.Errorf("rmi %s: %w", arg, err)
		}
		if used[rec.ID] {
			if !c.Bool("force") {
				return fmt.Errorf("rmi %s: image %s is used by a container: %w (remove the container or use -f)", arg, short(rec.ID), layer.ErrInUse)
			}
			// The containers keep their image: -f takes only its names.
			untagged, err := s.images.UntagAll(rec.ID)
			if err != nil {
				return fmt.Errorf("rmi %s: %w", arg, err)
			}
			for _, n := range untagged {
				fmt.Printf("untagged %s\n", image.ShortName(n))
			}
			return nil
		}
		removed, untagged, err := s.images.Remove(arg, c.Bool("force"))
		if err != nil {
			return fmt.Errorf("rmi %s: %w", arg, err)
		}
		for _, n := range untagged {
			slog.Info("untagged", "name", n)
		}
		if removed == "" {
			return nil
		}
		if _, err := s.layers.GC(func() ([]digest.Digest, error) { return referencedTops(s) }, rec.ChainIDs); err != nil {
			return fmt.Errorf("rmi %s: remove layers: %w", arg, err)
		}
		fmt.Println(removed)
		return nil
	},
}
