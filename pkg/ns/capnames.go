package ns

import (
	"fmt"
	"slices"
	"strings"
)

// Capabilities is the capability set docker run's --cap-add and --cap-drop
// make of Docker's default one, by kernel names ("CAP_NET_ADMIN"): a name
// may lack "CAP_" and be in any case, and ALL means every capability. As
// Docker: with ALL added, every capability but those dropped; with ALL
// dropped, only those added; else the default less those dropped, plus
// those added. Nil when neither list has anything: the default.
func Capabilities(add, drop []string) ([]string, error) {
	if len(add) == 0 && len(drop) == 0 {
		return nil, nil
	}
	add, err := normalizeCaps(add)
	if err != nil {
		return nil, fmt.Errorf("--cap-add: %w", err)
	}
	drop, err = normalizeCaps(drop)
	if err != nil {
		return nil, fmt.Errorf("--cap-drop: %w", err)
	}
	var base []string
	switch {
	case slices.Contains(add, "ALL"):
		base, add = capabilityNames[:], nil
	case slices.Contains(drop, "ALL"):
		base, drop = nil, nil
	default:
		base = capNames(defaultCaps)
	}
	out := []string{}
	for _, c := range append(base, add...) {
		if c != "ALL" && !slices.Contains(drop, c) && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return capNumber(a) - capNumber(b) })
	return out, nil
}

// normalizeCaps writes capability names as the kernel does, or fails on
// one it does not know.
func normalizeCaps(names []string) ([]string, error) {
	out := make([]string, 0, len(names))
	for _, n := range names {
		c := strings.ToUpper(strings.TrimSpace(n))
		if c != "ALL" && !strings.HasPrefix(c, "CAP_") {
			c = "CAP_" + c
		}
		if c != "ALL" && capNumber(c) < 0 {
			return nil, fmt.Errorf("unknown capability %q", n)
		}
		out = append(out, c)
	}
	return out, nil
}

// capNumber is a capability's number, or -1.
func capNumber(name string) int {
	return slices.Index(capabilityNames[:], name)
}

// capNumbers turns a set of names into numbers; nil stays nil (the
// default set).
func capNumbers(names []string) ([]int, error) {
	if names == nil {
		return defaultCaps, nil
	}
	out := make([]int, 0, len(names))
	for _, n := range names {
		c := capNumber(n)
		if c < 0 {
			return nil, fmt.Errorf("spec: unknown capability %q", n)
		}
		out = append(out, c)
	}
	return out, nil
}
