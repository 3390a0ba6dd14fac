package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/layerctl/layerctl/pkg/container"
	"github.com/layerctl/layerctl/pkg/image"
)

var commitCommand = &cli.Command{
	Name:      "commit",
	Usage:     "make a new image of a container's changes",
	ArgsUsage: "CONTAINER [NAME[:TAG]]",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "message", Aliases: []string{"m"}, Usage: "commit message (the history comment)"},
		&cli.StringFlag{Name: "author", Aliases: []string{"a"}, Usage: "author of the image"},
		&cli.StringSliceFlag{Name: "change", Aliases: []string{"c"}, Usage: "apply a Dockerfile instruction (" + image.Changeable + ")"},
		&cli.StringFlag{Name: "timestamp", EnvVars: []string{"SOURCE_DATE_EPOCH"}, Usage: "`UNIX` seconds: the image's time, and the newest mtime in the layer (reproducible builds)"},
	},
	Action: func(c *cli.Context) error {
		if c.NArg() < 1 || c.NArg() > 2 {
			return fmt.Errorf("commit: want CONTAINER [NAME[:TAG]]")
		}
		opts := container.CommitOptions{CommitOptions: image.CommitOptions{
			Author: c.String("author"), Comment: c.String("message"), Changes: c.StringSlice("change"),
		}}
		if err := container.CheckChanges(opts.Changes); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		if ts := c.String("timestamp"); ts != "" {
			sec, err := strconv.ParseInt(ts, 10, 64)
			if err != nil || sec < 0 {
				return fmt.Errorf("commit: --timestamp %q: want seconds since 1970", ts)
			}
			opts.Created = time.Unix(sec, 0).UTC()
			opts.Clamp = opts.Created
		}
		if c.NArg() == 2 {
			n, err := image.ParseName(c.Args().Get(1))
			if err != nil {
				return fmt.Errorf("commit: %w", err)
			}
			opts.Name = n
		}
		opts.CreatedBy = "layerctl commit"
		if len(opts.Changes) > 0 {
			opts.CreatedBy += " --change " + strings.Join(opts.Changes, " --change ")
		}
		s, err := openStores(c)
		if err != nil {
			return err
		}
		defer s.Close()
		rec, _, err := s.Commit(c.Context, c.Args().First(), opts)
		if err != nil {
			return err // "commit CONTAINER: ..." already
		}
		fmt.Fprintln(os.Stdout, rec.ID)
		return nil
	},
}
