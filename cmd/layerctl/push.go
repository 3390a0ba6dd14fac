package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/layerctl/layerctl/pkg/image"
)

var pushCommand = &cli.Command{
	Name:      "push",
	Usage:     "send an image to a registry, an OCI layout (oci:DIR[:TAG]) or a docker-archive:FILE",
	ArgsUsage: "IMAGE DEST",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "insecure", Usage: "allow plain HTTP and unverified TLS"},
		&cli.StringFlag{Name: "compression", Usage: "layer compression: gzip or zstd (default: a pulled layer's own blob, else gzip)"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress display"},
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
		opts := image.PushOptions{Insecure: c.Bool("insecure"), Compression: c.String("compression")}
		var bars *progressBars
		if !c.Bool("quiet") && term.IsTerminal(int(os.Stderr.Fd())) {
			bars = newProgressBars(os.Stderr, "pushing")
			defer bars.Wait()
			opts.Progress = bars
		}
		d, err := s.Push(c.Context, img, dest, opts)
		if bars != nil {
			bars.Wait() // the bars are drawn before the digest is printed
		}
		if err != nil {
			return fmt.Errorf("push %s: %w", img, err)
		}
		fmt.Println(d)
		return nil
	},
}
