//go:build core

package main

import (
	"github.com/urfave/cli/v2"

	"github.com/layerctl/layerctl/pkg/container"
	"github.com/layerctl/layerctl/pkg/explore"
)

// The core binary (`make build`) links neither the builder, nor explore's
// TUI, nor its CI rules file reader: BuildKit's parser, protobuf, tview,
// tcell and a YAML parser cost every command about 3 ms of start here
// (more code to map, more package initialisation), and only build, the TUI
// and explore --ci use them. It hands those to the full program appended
// to its file (handoff.go).

// fullLinked is false: explore hands its TUI and --ci (the rules file is
// YAML) to the full program before it opens anything, so that the two
// below are never reached.
const fullLinked = false

func runTUI(*explore.Report, *container.Store) error { return handOff("explore") }

func ciRules(*cli.Context) (explore.Rules, error) { return explore.Rules{}, handOff("explore") }

func buildAction(*cli.Context) error { return handOff("build") }
