package container

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"

	"github.com/layerctl/layerctl/pkg/cgroup"
	"github.com/layerctl/layerctl/pkg/ns"
)

// Freezer is a process that holds a running container frozen (a commit
// reading its rw layer), named by PID and start time so that a PID reused
// later is not taken for it.
type Freezer struct {
	Pid   int    `json:"pid"`
	Start uint64 `json:"start"`
}

// alive tells whether the freezing process still runs.
func (f Freezer) alive() bool { return processAlive(f.Pid, f.Start) }

// processAlive tells whether process pid, started at start, still runs.
func processAlive(pid int, start uint64) bool {
	if pid <= 0 || !ns.Alive(pid) {
		return false
	}
	now, err := ns.StartTime(pid)
	return err == nil && now == start
}

func liveFreezers(all []Freezer) []Freezer {
	var live []Freezer
	for _, f := range all {
		if f.alive() {
			live = append(live, f)
		}
	}
	return live
}

// freeze stops every process of a running container for this process. It
// records itself as a freezer before it freezes: if it is killed while it
// holds the freeze, the next command finds the freezer dead and thaws the
// container (settleFreeze), so nothing stays frozen for good. thaw lets go,
// and thaws once no other live freezer (a concurrent commit) holds it.
func (c *Store) freeze(s State) (thaw func() error, err error) {
	start, err := ns.StartTime(os.Getpid())
	if err != nil {
		return nil, fmt.Errorf("freeze container %s: %w", s.Name, err)
	}
	me := Freezer{Pid: os.Getpid(), Start: start}
	cg, err := cgroup.Open(s.ID)
	if err != nil {
		return nil, fmt.Errorf("freeze container %s: %w", s.Name, err)
	}
	err = c.locked(func() error {
		cur, err := c.Get(s.ID)
		if err != nil {
			return err
		}
		cur.FrozenBy = append(liveFreezers(cur.FrozenBy), me)
		return c.put(cur)
	})
	if err != nil {
		return nil, fmt.Errorf("freeze container %s: %w", s.Name, err)
	}
	thaw = func() error { return c.unfreeze(s, me, cg) }
	if err := cg.Freeze(); err != nil {
		thaw()
		return nil, fmt.Errorf("freeze container %s: %w", s.Name, err)
	}
	return thaw, nil
}

// unfreeze drops freezer me (and any dead one) from the record and thaws
// the container when no live freezer is left. The thaw happens under the
// containers lock, so a freezer that records itself meanwhile freezes after
// it, never before. A container that ended or went meanwhile (stop, rm -f)
// has nothing left to thaw.
func (c *Store) unfreeze(s State, me Freezer, cg *cgroup.Cgroup) error {
	err := c.locked(func() error {
		cur, err := c.Get(s.ID)
		gone := errors.Is(err, ErrContainerNotFound)
		if err != nil && !gone {
			return err
		}
		live := liveFreezers(cur.FrozenBy)
		// One entry: two commits of one process hold it twice.
		if i := slices.Index(live, me); i >= 0 {
			live = slices.Delete(live, i, i+1)
		}
		if len(live) == 0 && !cur.Paused {
			if err := thawUnlessGone(cg); err != nil {
				return err
			}
		}
		if gone {
			return nil
		}
		cur.FrozenBy = live
		return c.put(cur)
	})
	if err != nil {
		return fmt.Errorf("thaw container %s: %w", s.Name, err)
	}
	return nil
}

// settleFreeze thaws a container that freezers which have died since left
// frozen (a commit killed while it read the rw layer), and drops them from
// its record. A container still held by a live freezer stays frozen.
func (c *Store) settleFreeze(s State) (State, error) {
	if len(liveFreezers(s.FrozenBy)) == len(s.FrozenBy) {
		return s, nil
	}
	err := c.locked(func() error {
		cur, err := c.Get(s.ID)
		if err != nil {
			return err
		}
		live := liveFreezers(cur.FrozenBy)
		if len(live) == len(cur.FrozenBy) {
			s = cur // settled by another command meanwhile
			return nil
		}
		if len(live) == 0 && !cur.Paused {
			cg, err := cgroup.Open(cur.ID)
			if err == nil {
				err = thawUnlessGone(cg)
			}
			if err != nil && !errors.Is(err, cgroup.ErrNotFound) {
				return err
			}
		}
		cur.FrozenBy = live
		s = cur
		return c.put(cur)
	})
	if err != nil {
		return s, fmt.Errorf("thaw container %s: %w", s.Name, err)
	}
	return s, nil
}

// thawUnlessGone thaws a cgroup unless it is gone, with its processes.
func thawUnlessGone(cg *cgroup.Cgroup) error {
	if err := cg.Thaw(); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
