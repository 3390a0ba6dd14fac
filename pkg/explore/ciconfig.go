//go:build !core

package explore

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Reading a .dive-ci file needs a YAML parser, whose initialisation every
// start of a binary that links it pays: the core binary (the core tag,
// see cmd/layerctl's handoff) goes without, and hands explore --ci to the
// full program.

// ReadCIConfig lays the rules of a .dive-ci file over r. A file that does
// not exist leaves r as is.
func ReadCIConfig(file string, r Rules) (Rules, error) {
	data, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return r, nil
	}
	if err != nil {
		return r, err
	}
	return ParseCIConfig(data, r)
}

// ParseCIConfig lays the rules of a .dive-ci document over r.
func ParseCIConfig(data []byte, r Rules) (Rules, error) {
	var doc struct {
		Rules map[string]any `yaml:"rules"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return r, fmt.Errorf("ci config: %w", err)
	}
	for k, v := range doc.Rules {
		s := strings.TrimSpace(fmt.Sprint(v))
		switch k {
		case "lowestEfficiency":
			r.LowestEfficiency = s
		case "highestWastedBytes":
			r.HighestWastedBytes = s
		case "highestUserWastedPercent":
			r.HighestUserWastedPercent = s
		default:
			return r, fmt.Errorf("ci config: unknown rule %q (want lowestEfficiency, highestWastedBytes or highestUserWastedPercent)", k)
		}
	}
	return r, r.Check()
}
