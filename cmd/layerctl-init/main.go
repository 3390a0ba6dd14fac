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
)

func main() {
	ns.Init() // never returns when started as an init step
	fmt.Fprintln(os.Stderr, "layerctl-init: the init step of a container; layerctl starts it, not a user")
	os.Exit(2)
}
