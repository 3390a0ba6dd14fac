package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/layerctl/layerctl/pkg/container"
)

var logsCommand = &cli.Command{
	Name:      "logs",
	Usage:     "print the output of a container started with run -d or start: its stdout on stdout, its stderr on stderr",
	ArgsUsage: "CONTAINER",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "go on printing while the container runs"},
		&cli.StringFlag{Name: "tail", Aliases: []string{"n"}, Value: "all", Usage: "only the last `N` lines"},
		&cli.BoolFlag{Name: "timestamps", Aliases: []string{"t"}, Usage: "prefix each line with its time (RFC 3339)"},
	},
	UseShortOptionHandling: true,
	Action: func(c *cli.Context) error {
		if c.NArg() != 1 {
			return fmt.Errorf("logs: want one CONTAINER")
		}
		o := container.LogOptions{Follow: c.Bool("follow"), Timestamps: c.Bool("timestamps"), Tail: -1}
		if t := c.String("tail"); t != "all" {
			n, err := strconv.Atoi(t)
			if err != nil {
				return fmt.Errorf("logs: --tail %q: want a number or all", t)
			}
			o.Tail = max(n, -1) // as Docker: a negative number is all
		}
		s, err := openStores(c)
		if err != nil {
			return err
		}
		// Following must not hold the store's shared lock: gc would wait.
		s.Close()
		if err := s.Logs(c.Context, c.Args().First(), o, os.Stdout, os.Stderr); err != nil {
			return fmt.Errorf("logs %s: %w", c.Args().First(), err)
		}
		return nil
	},
}
