package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

var buildCommand = &cli.Command{
	Name:      "build",
	Usage:     "build an image from a Dockerfile, one layer per step",
	ArgsUsage: "CONTEXT",
	Flags: []cli.Flag{
		&cli.StringSliceFlag{Name: "tag", Aliases: []string{"t"}, Usage: "name the image `NAME[:TAG]` (repeatable)"},
		&cli.StringFlag{Name: "file", Aliases: []string{"f"}, Usage: "the Dockerfile, - for standard input (default: CONTEXT/Dockerfile)"},
		&cli.StringSliceFlag{Name: "build-arg", Usage: "set an ARG: `K=V` (repeatable)"},
		&cli.StringFlag{Name: "target", Usage: "build this `STAGE` (default: the last)"},
		&cli.BoolFlag{Name: "no-cache", Usage: "run every step, whatever the cache holds"},
		&cli.StringFlag{Name: "network", Value: "host", Usage: "RUN's network: host or none"},
		&cli.StringFlag{Name: "timestamp", EnvVars: []string{"SOURCE_DATE_EPOCH"}, Usage: "`UNIX` seconds: every time in the image, and the newest mtime in its layers"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only the image ID"},
		&cli.StringFlag{Name: "progress", Value: "auto", Usage: "step lines: auto, plain or tty (all BuildKit's plain lines), or quiet (as -q)"},
		&cli.StringSliceFlag{Name: "label", Usage: "set a label on the image: `K=V` (repeatable)"},
		&cli.BoolFlag{Name: "pull", Usage: "pull each FROM image, even one the store has"},
		&cli.StringFlag{Name: "iidfile", Usage: "write the image ID to `FILE`"},
	},
	Action: buildAction,
}

// parseLabels reads --label K=V flags (K alone: an empty value, as docker);
// nil for none.
func parseLabels(kvs []string) (map[string]string, error) {
	var labels map[string]string
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		if k == "" {
			return nil, fmt.Errorf("--label %q: want K=V", kv)
		}
		if labels == nil {
			labels = map[string]string{}
		}
		labels[k] = v
	}
	return labels, nil
}
