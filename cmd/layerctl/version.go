package main

import (
	"fmt"
	"runtime"

	"github.com/urfave/cli/v2"
)

// version and commit are set by the Makefile from git (-ldflags -X); a plain
// `go build` leaves these.
var (
	version = "dev"
	commit  = "unknown"
)

// printVersion is --version: Docker's three facts, one per line.
func printVersion(c *cli.Context) {
	fmt.Fprintf(c.App.Writer, "layerctl version %s\ncommit: %s\ngo: %s %s/%s\n",
		version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func init() { cli.VersionPrinter = printVersion }
