//go:build !urfave_cli_no_docs

package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"
)

// The man page generator (urfave/cli's, with go-md2man) is built only
// without the urfave_cli_no_docs tag the release binary has: `make man`
// runs it from a build of its own, so the binary users run stays small.
func init() { extraCommands = append(extraCommands, manCommand) }

var manCommand = &cli.Command{
	Name:      "man",
	Hidden:    true,
	Usage:     "write layerctl's man page, layerctl.8, into DIR/man8",
	ArgsUsage: "DIR",
	Action: func(c *cli.Context) error {
		if c.NArg() != 1 {
			return fmt.Errorf("man: want DIR")
		}
		page, err := c.App.ToManWithSection(8)
		if err != nil {
			return fmt.Errorf("man: %w", err)
		}
		dir := filepath.Join(c.Args().First(), "man8")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("man: %w", err)
		}
		return os.WriteFile(filepath.Join(dir, "layerctl.8"), []byte(page), 0o644)
	},
}
