package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/layerctl/layerctl/pkg/container"
)

var volumeCommand = &cli.Command{
	Name:  "volume",
	Usage: "named volumes: create, ls, inspect, rm, prune (run -v NAME:/path makes one when missing)",
	Subcommands: []*cli.Command{
		{
			Name:      "create",
			Usage:     "make a volume (a random name without NAME); print its name",
			ArgsUsage: "[NAME]",
			Action: func(c *cli.Context) error {
				if c.NArg() > 1 {
					return fmt.Errorf("volume create: want at most one NAME")
				}
				s, err := openStores(c)
				if err != nil {
					return err
				}
				defer s.Close()
				v, _, err := s.CreateVolume(c.Args().First())
				if err != nil {
					return fmt.Errorf("volume create: %w", err)
				}
				fmt.Println(v.Name)
				return nil
			},
		},
		{
			Name:    "ls",
			Aliases: []string{"list"},
			Usage:   "list the volumes",
			Flags:   []cli.Flag{quietFlag, formatFlag},
			Action: func(c *cli.Context) error {
				if c.NArg() != 0 {
					return fmt.Errorf("volume ls: takes no arguments")
				}
				jsonOut, err := checkFormat(c)
				if err != nil {
					return fmt.Errorf("volume ls: %w", err)
				}
				s, err := openStores(c)
				if err != nil {
					return err
				}
				defer s.Close()
				vols, err := s.ListVolumes()
				if err != nil {
					return fmt.Errorf("volume ls: %w", err)
				}
				switch {
				case c.Bool("quiet"):
					for _, v := range vols {
						fmt.Println(v.Name)
					}
					return nil
				case jsonOut:
					return printJSON(vols)
				}
				tw := newTable(os.Stdout)
				fmt.Fprintln(tw, "DRIVER\tVOLUME NAME")
				for _, v := range vols {
					fmt.Fprintf(tw, "%s\t%s\n", v.Driver, v.Name)
				}
				return tw.Flush()
			},
		},
		{
			Name:      "inspect",
			Usage:     "show volumes as a JSON array",
			ArgsUsage: "NAME...",
			Action: func(c *cli.Context) error {
				if c.NArg() < 1 {
					return fmt.Errorf("volume inspect: want NAME...")
				}
				s, err := openStores(c)
				if err != nil {
					return err
				}
				defer s.Close()
				var out []any
				for _, name := range c.Args().Slice() {
					v, err := s.Volume(name)
					if err != nil {
						return fmt.Errorf("volume inspect: %w", err)
					}
					out = append(out, v)
				}
				return printJSON(out)
			},
		},
		{
			Name:      "rm",
			Aliases:   []string{"remove"},
			Usage:     "remove volumes and their data (not one a container names)",
			ArgsUsage: "NAME...",
			Action: func(c *cli.Context) error {
				if c.NArg() < 1 {
					return fmt.Errorf("volume rm: want NAME...")
				}
				s, err := openStores(c)
				if err != nil {
					return err
				}
				defer s.Close()
				var failed error
				for _, name := range c.Args().Slice() {
					if err := s.RemoveVolume(name); err != nil {
						fmt.Fprintf(os.Stderr, "layerctl: volume rm %s: %v\n", name, err)
						failed = errSilent
						continue
					}
					fmt.Println(name)
				}
				return failed
			},
		},
		{
			Name:  "prune",
			Usage: "remove the volumes no container names that were made without a name (-a: every one)",
			Flags: []cli.Flag{forceFlag, allFlag("also named volumes")},
			Action: pruneAction("volume prune", func(all bool) string {
				if all {
					return "This will remove all local volumes not used by at least one container."
				}
				return "This will remove anonymous local volumes not used by at least one container."
			}, func(c *cli.Context, s *container.Store) error {
				removed, freed, err := s.PruneVolumes(c.Bool("all"))
				printDeleted("Volumes", removed, func(name string) { fmt.Println(name) })
				fmt.Printf("Total reclaimed space: %s\n", humanSize(freed))
				return err
			}),
		},
	},
}
