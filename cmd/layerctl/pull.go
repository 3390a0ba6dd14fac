package main

import (
	"fmt"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/layerctl/layerctl/pkg/container"
	"github.com/layerctl/layerctl/pkg/image"
)

var pullCommand = &cli.Command{
	Name:      "pull",
	Usage:     "copy an image from a registry, an OCI layout or a docker archive into the store",
	ArgsUsage: "SRC [NAME]",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "platform", Usage: "`OS/ARCH[/VARIANT]` to choose from a multi-platform image (default: this machine's)"},
		&cli.BoolFlag{Name: "insecure", Usage: "allow plain HTTP and unverified TLS"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress display"},
	},
	Action: func(c *cli.Context) error {
		if c.NArg() < 1 || c.NArg() > 2 {
			return fmt.Errorf("pull: want SRC [NAME]")
		}
		src := c.Args().Get(0)
		opts := image.PullOptions{Insecure: c.Bool("insecure"), Name: c.Args().Get(1)}
		// Checked before the store is opened: a bad NAME changes nothing.
		if c.NArg() == 2 {
			if _, err := image.ParseName(opts.Name); err != nil {
				return fmt.Errorf("pull %s: %w", src, err)
			}
		}
		if p := c.String("platform"); p != "" {
			platform, err := image.ParsePlatform(p)
			if err != nil {
				return fmt.Errorf("pull %s: %w", src, err)
			}
			opts.Platform = platform
		} else {
			opts.Platform = v1.Platform{}
		}
		s, err := openStores(c, container.NoHold())
		if err != nil {
			return err
		}
		defer s.Close()
		if !c.Bool("quiet") && term.IsTerminal(int(os.Stderr.Fd())) {
			bars := newProgressBars(os.Stderr, "pulling")
			defer bars.Wait()
			opts.Progress = bars
		}
		rec, err := s.Pull(c.Context, src, opts)
		if err != nil {
			return fmt.Errorf("pull %s: %w", src, err)
		}
		if bars, ok := opts.Progress.(*progressBars); ok {
			bars.Wait()
		}
		fmt.Println(rec.ID)
		return nil
	},
}
