package main

import (
	"bufio"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/layerctl/layerctl/pkg/container"
)

var mountCommand = &cli.Command{
	Name:      "mount",
	Usage:     "mount a container's rootfs and print its path",
	ArgsUsage: "CONTAINER",
	Action: func(c *cli.Context) error {
		if c.NArg() != 1 {
			return fmt.Errorf("mount: want one CONTAINER")
		}
		s, err := openStores(c)
		if err != nil {
			return err
		}
		defer s.Close()
		path, err := s.Mount(c.Args().First())
		if err != nil {
			return fmt.Errorf("mount %s: %w", c.Args().First(), err)
		}
		fmt.Println(path)
		return nil
	},
}

var umountCommand = &cli.Command{
	Name:      "umount",
	Usage:     "unmount a container's rootfs (when its last user is done)",
	ArgsUsage: "CONTAINER",
	Flags:     []cli.Flag{&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "unmount whatever the mount count"}},
	Action: func(c *cli.Context) error {
		if c.NArg() != 1 {
			return fmt.Errorf("umount: want one CONTAINER")
		}
		s, err := openStores(c)
		if err != nil {
			return err
		}
		defer s.Close()
		if err := s.Umount(c.Args().First(), c.Bool("force")); err != nil {
			return fmt.Errorf("umount %s: %w", c.Args().First(), err)
		}
		return nil
	},
}

var diffCommand = &cli.Command{
	Name:      "diff",
	Usage:     "list the changes in a container's read-write layer",
	ArgsUsage: "CONTAINER",
	Action: func(c *cli.Context) error {
		if c.NArg() != 1 {
			return fmt.Errorf("diff: want one CONTAINER")
		}
		s, err := openStores(c)
		if err != nil {
			return err
		}
		defer s.Close()
		changes, err := s.Diff(c.Context, c.Args().First())
		if err != nil {
			return fmt.Errorf("diff %s: %w", c.Args().First(), err)
		}
		out := bufio.NewWriter(os.Stdout) // one write, not one per line
		for _, ch := range changes {
			fmt.Fprintln(out, ch)
		}
		return out.Flush()
	},
}

var rmCommand = &cli.Command{
	Name:      "rm",
	Usage:     "remove containers (their images stay)",
	ArgsUsage: "CONTAINER...",
	Flags:     []cli.Flag{&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "kill a running container, unmount a mounted one, first"}},
	Action: func(c *cli.Context) error {
		if c.NArg() < 1 {
			return fmt.Errorf("rm: want CONTAINER...")
		}
		return eachContainer(c, "rm", func(s *container.Store, ref string) (container.State, error) {
			return s.Remove(ref, c.Bool("force"))
		})
	},
}
