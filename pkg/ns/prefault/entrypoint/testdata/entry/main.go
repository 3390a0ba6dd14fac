// Command entry reports what the entry point mapped, and its own
// arguments and environment (which the entry must hand the runtime as it
// found them), for TestEntry.
package main

import (
	"fmt"
	"os"

	"github.com/layerctl/layerctl/pkg/ns/prefault/entrypoint"
)

func main() {
	e := entrypoint.At()
	fmt.Printf("data=%v image=%v pages=%d cached=%d args=%q env=%q\n",
		e.Data, e.Image, e.ImagePages, e.CachedPages, os.Args[1:], os.Getenv("PREFAULT_ENTRY_TEST"))
}
