package explore

import (
	"fmt"
	"strconv"

	humanize "github.com/dustin/go-humanize"
)

// Rules are dive's CI rules, each a value as dive takes it ("disabled"
// skips the rule): the keys of a .dive-ci file's "rules:".
type Rules struct {
	LowestEfficiency         string // a ratio: fail when efficiency is lower
	HighestWastedBytes       string // bytes ("20MB"): fail when more are wasted
	HighestUserWastedPercent string // a ratio: fail when the user wastes more
}

// DefaultRules are dive's defaults.
func DefaultRules() Rules {
	return Rules{LowestEfficiency: "0.9", HighestWastedBytes: "disabled", HighestUserWastedPercent: "0.1"}
}

const disabled = "disabled"

// Check tells a value a rule cannot read.
func (r Rules) Check() error {
	for _, c := range []struct{ key, v string }{
		{"lowestEfficiency", r.LowestEfficiency}, {"highestUserWastedPercent", r.HighestUserWastedPercent},
	} {
		if _, err := parseRatio(c.v); err != nil {
			return fmt.Errorf("rule %s: %w", c.key, err)
		}
	}
	if _, err := parseBytes(r.HighestWastedBytes); err != nil {
		return fmt.Errorf("rule highestWastedBytes: %w", err)
	}
	return nil
}

func parseRatio(v string) (float64, error) {
	if v == disabled {
		return 0, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is no number (nor %q)", v, disabled)
	}
	return f, nil
}

func parseBytes(v string) (uint64, error) {
	if v == disabled {
		return 0, nil
	}
	n, err := humanize.ParseBytes(v)
	if err != nil {
		return 0, fmt.Errorf("%q is no byte count such as 20MB (nor %q)", v, disabled)
	}
	return n, nil
}

// RuleResult is one rule's verdict.
type RuleResult struct {
	Rule    string // dive's key
	Status  string // PASS, FAIL or SKIP
	Message string // why it failed
}

// Evaluate applies the rules to a report, in dive's order; ok is false when
// a rule fails. The rules must have passed Check.
func Evaluate(rep *Report, r Rules) (results []RuleResult, ok bool) {
	ok = true
	add := func(rule, v string, fail func() string) {
		res := RuleResult{Rule: rule, Status: "PASS"}
		if v == disabled {
			res.Status = "SKIP"
		} else if msg := fail(); msg != "" {
			res.Status, res.Message, ok = "FAIL", msg, false
		}
		results = append(results, res)
	}
	add("lowestEfficiency", r.LowestEfficiency, func() string {
		floor, _ := parseRatio(r.LowestEfficiency)
		if rep.Efficiency < floor {
			return fmt.Sprintf("image efficiency is too low (efficiency=%.4f < threshold=%v)", rep.Efficiency, floor)
		}
		return ""
	})
	add("highestWastedBytes", r.HighestWastedBytes, func() string {
		most, _ := parseBytes(r.HighestWastedBytes)
		if uint64(rep.WastedBytes) > most {
			return fmt.Sprintf("too many bytes wasted (wasted-bytes=%d > threshold=%d)", rep.WastedBytes, most)
		}
		return ""
	})
	add("highestUserWastedPercent", r.HighestUserWastedPercent, func() string {
		most, _ := parseRatio(r.HighestUserWastedPercent)
		if rep.UserWastedPercent > most {
			return fmt.Sprintf("too many bytes wasted, relative to the user bytes added (user-wasted-percent=%.4f > threshold=%v)", rep.UserWastedPercent, most)
		}
		return ""
	})
	return results, ok
}
