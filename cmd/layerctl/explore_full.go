//go:build !core

package main

import (
	"github.com/urfave/cli/v2"

	"github.com/layerctl/layerctl/pkg/container"
	"github.com/layerctl/layerctl/pkg/explore"
	"github.com/layerctl/layerctl/pkg/explore/tui"
)

// fullLinked tells that this binary shows explore's TUI and reads its CI
// rules file itself.
const fullLinked = true

func runTUI(rep *explore.Report, s *container.Store) error { return tui.Run(rep, s) }

// ciRules are dive's defaults, then the --ci-config file's rules, then the
// flags'.
func ciRules(c *cli.Context) (explore.Rules, error) {
	rules, err := explore.ReadCIConfig(c.String("ci-config"), explore.DefaultRules())
	if err != nil {
		return rules, err
	}
	for flag, v := range map[string]*string{
		"lowest-efficiency":           &rules.LowestEfficiency,
		"highest-wasted-bytes":        &rules.HighestWastedBytes,
		"highest-user-wasted-percent": &rules.HighestUserWastedPercent,
	} {
		if c.IsSet(flag) {
			*v = c.String(flag)
		}
	}
	return rules, rules.Check()
}
