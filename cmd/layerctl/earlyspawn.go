package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"github.com/layerctl/layerctl/pkg/container"
	"github.com/layerctl/layerctl/pkg/ns/prespawn"
)

// earlySpawn is the init step main started for a run before urfave/cli
// parsed its flags (spawnEarly), with what it read of them; runAction takes
// it when they are what urfave/cli read.
var earlySpawn struct {
	sp   *container.Spawned
	read prespawn.Reading
}

// takeEarlySpawn is the init step spawned early when it fits the parsed
// flags, else nil (and the step ended).
func takeEarlySpawn(c *cli.Context) *container.Spawned {
	sp, read := earlySpawn.sp, earlySpawn.read
	earlySpawn.sp = nil
	if read != (prespawn.Reading{Net: c.String("network"), TTY: c.Bool("tty"), Interactive: c.Bool("interactive"), Detach: c.Bool("detach")}) {
		sp.Abort()
		return nil
	}
	return sp
}

// spawnEarly starts the init step of `run` from a quick reading of its
// command line (args: os.Args[1:]), before urfave/cli reads its sixty flags
// (a millisecond and more): the clone into the namespaces and the init
// program's start then overlap the parse. Mostly it takes the step package
// prespawn started with the same reading before main (ns.Spawn checks that
// it fits). A wrong reading costs time, not correctness: runAction compares
// it to urfave/cli's, and spawns again on a difference (takeEarlySpawn).
// None when the reading finds no foreground run.
func spawnEarly(args []string) {
	o, ok := prespawn.ReadRun(args)
	if !ok || o.Detach {
		return
	}
	var stdin *os.File
	if o.Interactive {
		stdin = os.Stdin
	}
	earlySpawn.sp = container.Spawn(&container.RunConfig{Net: o.Net, TTY: o.TTY}, foregroundStdio(stdin))
	earlySpawn.read = o
}
