// Package prespawn starts the init step of a `layerctl run` as the process
// starts, from its own package initialisation: before the CLI's packages
// are initialised, its flags parsed, its store opened. The init step is a
// Go program too, and its start (the runtime's, a few milliseconds on a
// virtual machine, where each first touch of memory faults) then overlaps
// all of the parent's work up to the container's config, instead of
// beginning after most of it.
//
// It imports syscall alone, so that Go initialises it right after syscall,
// before the packages that fill the heap (among the packages whose imports
// are done, Go initialises the one with the lowest import path first). It
// reads the command line from /proc/self/cmdline and starts nothing unless
// the binary embeds the init program and the command line is a foreground
// run that the reading understands (ReadRun) and whose stdio needs no
// console: no -t, and no -i on a terminal. A terminal on stdout or stderr
// gets a pipe, which the parent copies to it, as os/exec does.
//
// pkg/ns takes the step (Take) when a Launch fits what was started (the
// network, the stdio), and ends it otherwise: a wrong reading costs time,
// never a container set up otherwise than asked. The package also holds
// the sealed view of the init program (SealedProgram), which every init
// step runs from: the store's copy of it through a read-only overlay
// (cache.go), else a sealed memfd; and the primitives pkg/ns shares.
package prespawn

// The init step's argv[0] and environment: its mode in EnvName, ModeRun
// for a run's.
const (
	Arg0     = "layerctl-init"
	EnvName  = "_LAYERCTL_NS_INIT"
	ModeRun  = "run"
	EnvProcs = "GOMAXPROCS=1" // see pkg/ns's initCommand

)
