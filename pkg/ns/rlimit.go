package ns

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Rlimit is a resource limit of the container's processes (docker run
// --ulimit): Name as Docker names it ("nofile"), soft and hard values;
// math.MaxUint64 is unlimited.
type Rlimit struct {
	Name       string
	Soft, Hard uint64
}

// rlimitNames are docker's --ulimit names, in RLIMIT_* number order.
var rlimitNames = []string{"cpu", "fsize", "data", "stack", "core", "rss", "nproc", "nofile",
	"memlock", "as", "locks", "sigpending", "msgqueue", "nice", "rtprio", "rttime"}

// ParseRlimit reads --ulimit NAME=SOFT[:HARD] (-1 for unlimited; HARD is
// SOFT when left out).
func ParseRlimit(s string) (Rlimit, error) {
	name, values, ok := strings.Cut(s, "=")
	if !ok || !slices.Contains(rlimitNames, name) {
		return Rlimit{}, fmt.Errorf("--ulimit %q: want NAME=SOFT[:HARD], NAME one of %s", s, strings.Join(rlimitNames, ", "))
	}
	soft, hard, hasHard := strings.Cut(values, ":")
	if !hasHard {
		hard = soft
	}
	r := Rlimit{Name: name}
	var err error
	if r.Soft, err = rlimitValue(soft); err == nil {
		r.Hard, err = rlimitValue(hard)
	}
	if err != nil {
		return Rlimit{}, fmt.Errorf("--ulimit %q: %w", s, err)
	}
	if r.Soft > r.Hard {
		return Rlimit{}, fmt.Errorf("--ulimit %q: the soft limit is over the hard one", s)
	}
	return r, nil
}

func rlimitValue(v string) (uint64, error) {
	if v == "-1" || v == "unlimited" {
		return math.MaxUint64, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is no limit (a number, or -1 for none)", v)
	}
	return n, nil
}

// resource is the RLIMIT_* number of a --ulimit name.
func (r Rlimit) resource() (int, bool) {
	i := slices.Index(rlimitNames, r.Name)
	return i, i >= 0
}
