package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/layerctl/layerctl/pkg/image"
)

var formatFlag = &cli.StringFlag{Name: "format", Usage: "output format: table or json", Value: "table"}

func checkFormat(c *cli.Context) (jsonOut bool, err error) {
	switch f := c.String("format"); f {
	case "table", "":
		return false, nil
	case "json":
		return true, nil
	default:
		return false, fmt.Errorf("--format %q: want table or json", f)
	}
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 4, 3, ' ', 0) }

// humanSize prints bytes the way docker images does (decimal units).
func humanSize(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	f := float64(n)
	for _, u := range []string{"kB", "MB", "GB", "TB"} {
		f /= unit
		if f < unit {
			return fmt.Sprintf("%.3g%s", f, u)
		}
	}
	return fmt.Sprintf("%.3gPB", f/unit)
}

// short is the 12-hex form of a digest string.
func short(d fmt.Stringer) string {
	s := d.String()
	if i := len("sha256:"); len(s) > i+12 && s[:i] == "sha256:" {
		return s[i : i+12]
	}
	return s
}

// displayName shows a stored image name the short way.
func displayName(stored string) string { return image.ShortName(stored) }
