package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/layerctl/layerctl/pkg/container"
	"github.com/layerctl/layerctl/pkg/image"
)

var saveCommand = &cli.Command{
	Name:      "save",
	Usage:     "write images into one docker archive (docker load and skopeo read it)",
	ArgsUsage: "IMAGE...",
	Flags:     []cli.Flag{&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "the archive `FILE` (required: an archive is not for a terminal)"}},
	Action: func(c *cli.Context) error {
		if c.NArg() < 1 {
			return fmt.Errorf("save: want IMAGE...")
		}
		file := c.String("output")
		if file == "" {
			return fmt.Errorf("save: want -o FILE")
		}
		s, err := openStores(c)
		if err != nil {
			return err
		}
		defer s.Close()
		if err := s.Save(c.Context, c.Args().Slice(), file); err != nil {
			return fmt.Errorf("save: %w", err)
		}
		return nil
	},
}

var loadCommand = &cli.Command{
	Name:  "load",
	Usage: "copy every image of a docker archive into the store",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "input", Aliases: []string{"i"}, Usage: "the archive `FILE` (required)"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress display"},
	},
	Action: func(c *cli.Context) error {
		if c.NArg() != 0 {
			return fmt.Errorf("load: takes no arguments (-i FILE)")
		}
		file := c.String("input")
		if file == "" {
			return fmt.Errorf("load: want -i FILE")
		}
		s, err := openStores(c, container.NoHold())
		if err != nil {
			return err
		}
		defer s.Close()
		var opts image.PullOptions
		var bars *progressBars
		if !c.Bool("quiet") && term.IsTerminal(int(os.Stderr.Fd())) {
			bars = newProgressBars(os.Stderr, "loading")
			defer bars.Wait()
			opts.Progress = bars
		}
		loaded, err := s.Load(c.Context, file, opts)
		if bars != nil {
			bars.Wait()
		}
		for _, l := range loaded {
			if l.Name != "" {
				fmt.Printf("Loaded image: %s\n", displayName(l.Name))
			} else {
				fmt.Printf("Loaded image ID: %s\n", l.ID)
			}
		}
		if err != nil {
			return fmt.Errorf("load %s: %w", file, err)
		}
		return nil
	},
}
