// A start costs less without two runtime services a short-lived command
// never uses: the goroutine that follows changes of the cgroup's CPU limit
// (updatemaxprocs), and the names the runtime gives its anonymous mappings,
// a prctl per mmap (decoratemappings). About 0.6 ms of each start here.
//
//go:debug updatemaxprocs=0
//go:debug decoratemappings=0

// Command layerctl-init is the init step of a container (run's and exec's)
// as a program of its own. It links pkg/ns and little else, so it starts in
// about a third of the time of the whole layerctl binary, whose package
// initialisation (registry, compression, CLI) it would otherwise pay on every
// start. `make build` embeds it in layerctl, which runs it from a sealed
// memfd; a layerctl built without it re-executes itself for the step.
package main

import (
	"fmt"
	"os"

	"github.com/layerctl/layerctl/pkg/ns"
	_ "github.com/layerctl/layerctl/pkg/ns/prefault/entrypoint" // the binary's entry point (make build)
)

// The init step of a run or an exec starts from here, on the main thread
// the runtime keeps it on while packages initialise (see
// ns.InitOnMainThread); it never returns.
func init() { ns.InitOnMainThread() }

func main() {
	ns.Init() // the reaper's modes (--init); never returns in them
	fmt.Fprintln(os.Stderr, "layerctl-init: the init step of a container; layerctl starts it, not a user")
	os.Exit(2)
}
