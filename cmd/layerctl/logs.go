package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/urfave/cli/v2"
)

var logsCommand = &cli.Command{
	Name:      "logs",
	Usage:     "print the output of a container started with run -d",
	ArgsUsage: "CONTAINER",
	Action: func(c *cli.Context) error {
		if c.NArg() != 1 {
			return fmt.Errorf("logs: want one CONTAINER")
		}
		s, err := openStores(c)
		if err != nil {
			return err
		}
		defer s.Close()
		st, err := s.Resolve(c.Args().First())
		if err != nil {
			return fmt.Errorf("logs %s: %w", c.Args().First(), err)
		}
		f, err := os.Open(s.LogPath(st.ID))
		if errors.Is(err, fs.ErrNotExist) {
			return nil // never run detached: nothing was kept
		}
		if err != nil {
			return fmt.Errorf("logs %s: %w", st.Name, err)
		}
		defer f.Close()
		_, err = io.Copy(os.Stdout, f)
		return err
	},
}
