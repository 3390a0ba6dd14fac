package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/layerctl/layerctl/pkg/image"
)

var rmiCommand = &cli.Command{
	Name:      "rmi",
	Usage:     "remove images (or one of an image's names); layers go unless another image uses them",
	ArgsUsage: "IMAGE...",
	Flags:     []cli.Flag{&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "remove an image named by ID whatever names it has; an image a container uses keeps its layers and record"}},
	Action: func(c *cli.Context) error {
		if c.NArg() < 1 {
			return fmt.Errorf("rmi: want IMAGE...")
		}
		s, err := openStores(c)
		if err != nil {
			return err
		}
		defer s.Close()
		// As docker rmi: every image is tried; the failures are reported
		// and make the exit code.
		var failed error
		for _, arg := range c.Args().Slice() {
			r, err := s.RemoveImage(arg, c.Bool("force"))
			for _, n := range r.Untagged {
				fmt.Printf("Untagged: %s\n", image.ShortName(n))
			}
			if r.ID != "" {
				fmt.Printf("Deleted: %s\n", r.ID)
			}
			if err != nil {
				failed = errors.Join(failed, fmt.Errorf("rmi %s: %w", arg, err))
			}
		}
		return failed
	},
}

var tagCommand = &cli.Command{
	Name:      "tag",
	Usage:     "give an image another name",
	ArgsUsage: "SOURCE NEW",
	Action: func(c *cli.Context) error {
		if c.NArg() != 2 {
			return fmt.Errorf("tag: want SOURCE NEW")
		}
		s, err := openStores(c)
		if err != nil {
			return err
		}
		defer s.Close()
		if _, err := s.TagImage(c.Args().Get(0), c.Args().Get(1)); err != nil {
			return fmt.Errorf("tag %s %s: %w", c.Args().Get(0), c.Args().Get(1), err)
		}
		return nil
	},
}
