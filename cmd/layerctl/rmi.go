package main

import (
	"fmt"
	"log/slog"

	"github.com/urfave/cli/v2"

	"github.com/layerctl/layerctl/pkg/image"
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
		r, err := s.RemoveImage(arg, c.Bool("force"))
		for _, n := range r.Untagged {
			if r.Kept {
				fmt.Printf("untagged %s\n", image.ShortName(n))
			} else {
				slog.Info("untagged", "name", n)
			}
		}
		if err != nil {
			return fmt.Errorf("rmi %s: %w", arg, err)
		}
		if r.ID != "" {
			fmt.Println(r.ID)
		}
		return nil
	},
}
