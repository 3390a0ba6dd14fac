package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/layerctl/layerctl/pkg/image"
)

var pushCommand = &cli.Command{
	Name:      "push",
	Usage:     "send an image to a registry, an OCI layout (oci:DIR[:TAG]) or a docker-archive:FILE",
	ArgsUsage: "IMAGE DEST",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "insecure", Usage: "allow plain HTTP and unverified TLS"},
		&cli.StringFlag{Name: "compression", Usage: "layer compression: gzip or zstd (default: a pulled layer's own blob, else gzip)"},
	},
	Action: func(c *cli.Context) error {
		if c.NArg() != 2 {
			return fmt.Errorf("push: want IMAGE DEST")
		}
		s, err := openStores(c)
		if err != nil {
			return err
		}
		defer s.Close()
		img, dest := c.Args().Get(0), c.Args().Get(1)
		d, err := s.Push(c.Context, img, dest, image.PushOptions{
			Insecure: c.Bool("insecure"), Compression: c.String("compression"),
		})
		if err != nil {
			return fmt.Errorf("push %s: %w", img, err)
		}
		fmt.Println(d)
		return nil
	},
}
