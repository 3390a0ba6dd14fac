package union

import (
	"fmt"
	"path/filepath"
	"strings"
)

// aufsMaxBranches is aufs's default compile-time branch limit (CONFIG_AUFS_BRANCH_MAX_127).
const aufsMaxBranches = 127

// aufs stacks branches with "br=UPPER=rw:INIT=ro+wh:LAYER=ro+wh:..." (top
// first). It keeps ".wh." files as its native whiteouts, so layers are stored
// as the tar carries them.
type aufs struct{}

var _ Driver = aufs{}

func (aufs) Name() string   { return AUFS }
func (aufs) MaxLayers() int { return aufsMaxBranches - 1 } // one branch is the upper

// Describe puts as many branches in the first mount's option string as fit
// in one page and appends the rest by remounts ("append:DIR=ro+wh"), as
// Docker's aufs driver did. xino goes beside the upper dir, not in /tmp.
func (a aufs) Describe(b Branches) (Mount, error) {
	ro := b.readOnly()
	if len(ro)+1 > aufsMaxBranches {
		return Mount{}, fmt.Errorf("aufs takes at most %d branches, got %d", aufsMaxBranches, len(ro)+1)
	}
	if b.Upper == "" {
		return Mount{}, fmt.Errorf("aufs needs a read-write branch")
	}
	for _, d := range append([]string{b.Upper}, ro...) {
		if strings.ContainsAny(d, ":,=") {
			return Mount{}, fmt.Errorf("branch path %q holds ':', ',' or '=', which aufs options cannot carry", d)
		}
	}
	xino := "xino=" + filepath.Join(filepath.Dir(b.Upper), ".aufs.xino")
	fixed := len(xino) + len(",dio,br=") // the br list itself is counted below
	m := Mount{Type: "aufs", Source: "none"}
	br := []string{b.Upper + "=rw"}
	i := 0
	for ; i < len(ro); i++ {
		next := ro[i] + "=ro+wh"
		if fixed+len(strings.Join(br, ":"))+1+len(next) >= pageSize {
			break
		}
		br = append(br, next)
	}
	m.Options = []string{"br=" + strings.Join(br, ":"), "dio", xino}
	for ; i < len(ro); i++ {
		m.Append = append(m.Append, "append:"+ro[i]+"=ro+wh")
	}
	return m, nil
}
