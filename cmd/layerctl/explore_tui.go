//go:build !core

package main

import (
	"github.com/layerctl/layerctl/pkg/container"
	"github.com/layerctl/layerctl/pkg/explore"
	"github.com/layerctl/layerctl/pkg/explore/tui"
)

// tuiLinked tells that this binary shows explore's TUI itself.
const tuiLinked = true

func runTUI(rep *explore.Report, s *container.Store) error { return tui.Run(rep, s) }
