//go:build core

package main

import (
	"github.com/urfave/cli/v2"

	"github.com/layerctl/layerctl/pkg/container"
	"github.com/layerctl/layerctl/pkg/explore"
)

// The core binary (`make build`) links neither the builder nor explore's
// TUI: BuildKit's parser, protobuf, tview and tcell cost every command
// about 3 ms of start here (more code to map, more package
// initialisation), and only build and the TUI use them. It hands those two
// to the full program appended to its file (handoff.go).

const tuiLinked = false

func runTUI(*explore.Report, *container.Store) error { return handOff("explore") }

func buildAction(*cli.Context) error { return handOff("build") }
