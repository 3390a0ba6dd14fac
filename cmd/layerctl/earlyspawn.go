package main

import (
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/layerctl/layerctl/pkg/container"
)

// earlySpawn is the init step main started for a run before urfave/cli
// parsed its flags (spawnEarly), with what it read of them; runAction takes
// it when they are what urfave/cli read.
var earlySpawn struct {
	sp   *container.Spawned
	read earlyRun
}

// takeEarlySpawn is the init step spawned early when it fits the parsed
// flags, else nil (and the step ended).
func takeEarlySpawn(c *cli.Context) *container.Spawned {
	sp, read := earlySpawn.sp, earlySpawn.read
	earlySpawn.sp = nil
	if read != (earlyRun{network: c.String("network"), tty: c.Bool("tty"), interactive: c.Bool("interactive"), detach: c.Bool("detach")}) {
		sp.Abort()
		return nil
	}
	return sp
}

// spawnEarly starts the init step of `run` from a quick reading of its
// command line (args: os.Args[1:]), before urfave/cli reads its sixty flags
// (a millisecond and more): the clone into the namespaces and the init
// program's start then overlap the parse. A wrong reading costs time, not
// correctness: runAction compares it to urfave/cli's, and spawns again on
// a difference (takeEarlySpawn). None when the reading finds no foreground
// run.
func spawnEarly(args []string) {
	i := commandIndex(args)
	if i < 0 || args[i] != runCommand.Name {
		return
	}
	o, ok := readRunFlags(args[i+1:])
	if !ok || o.detach {
		return
	}
	var stdin *os.File
	if o.interactive {
		stdin = os.Stdin
	}
	earlySpawn.sp = container.Spawn(&container.RunConfig{Net: o.network, TTY: o.tty}, foregroundStdio(stdin))
	earlySpawn.read = o
}

// earlyRun is what spawnEarly reads of run's flags.
type earlyRun struct {
	network                  string
	tty, interactive, detach bool
}

// readRunFlags reads run's flags in args, up to the image, as urfave/cli
// would (long and short forms, combined short bools, --name=value); not ok
// for a flag run does not have, or no image.
func readRunFlags(args []string) (earlyRun, bool) {
	o := earlyRun{network: container.NetNone}
	set := func(f cli.Flag, value string) {
		switch {
		case slices.Contains(f.Names(), "network"):
			o.network = value
		case slices.Contains(f.Names(), "tty"):
			o.tty, _ = strconv.ParseBool(value)
		case slices.Contains(f.Names(), "interactive"):
			o.interactive, _ = strconv.ParseBool(value)
		case slices.Contains(f.Names(), "detach"):
			o.detach, _ = strconv.ParseBool(value)
		}
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || !strings.HasPrefix(a, "-") || a == "-" {
			return o, a != "--" && i < len(args)
		}
		names := []string{strings.TrimLeft(a, "-")}
		if !strings.HasPrefix(a, "--") && len(a) > 2 && !strings.Contains(a, "=") {
			names = strings.Split(a[1:], "") // -it: -i -t
		}
		for j, n := range names {
			n, value, hasValue := strings.Cut(n, "=")
			f := runFlagNamed(n)
			if f == nil {
				return o, false
			}
			if _, isBool := f.(*cli.BoolFlag); isBool {
				if !hasValue {
					value = "true"
				}
				set(f, value)
				continue
			}
			if !hasValue {
				if rest := strings.Join(names[j+1:], ""); rest != "" {
					value = rest // -eK=V
				} else if i+1 < len(args) {
					i++
					value = args[i]
				} else {
					return o, false
				}
			}
			set(f, value)
			break
		}
	}
	return o, false
}

// runFlagNamed is the flag of run with that name or alias.
func runFlagNamed(name string) cli.Flag {
	for _, f := range runCommand.Flags {
		if slices.Contains(f.Names(), name) {
			return f
		}
	}
	return nil
}
