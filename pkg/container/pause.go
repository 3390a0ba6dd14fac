package container

import (
	"errors"
	"fmt"

	"github.com/layerctl/layerctl/pkg/cgroup"
)

// ErrPaused marks what a paused container cannot do (exec, stop, kill)
// until unpause, as in Docker.
var ErrPaused = errors.New("paused: unpause it first")

// Pause freezes every process of a running container until Unpause (docker
// pause). The pause is recorded before the freeze, so a commit's freeze and
// thaw meanwhile leave it frozen.
func (c *Store) Pause(ref string) (State, error) {
	s, err := c.running(ref)
	if err != nil {
		return s, err
	}
	cg, err := cgroup.Open(s.ID)
	if err != nil {
		return s, fmt.Errorf("pause container %s: %w", s.Name, err)
	}
	err = c.locked(func() error {
		cur, err := c.Get(s.ID)
		if err != nil {
			return err
		}
		if cur.Paused {
			return errAlready
		}
		cur.Paused = true
		if err := c.put(cur); err != nil {
			return err
		}
		if err := cg.Freeze(); err != nil {
			cur.Paused = false
			return errors.Join(err, c.put(cur))
		}
		s = cur
		return nil
	})
	if errors.Is(err, errAlready) {
		return s, fmt.Errorf("container %s is paused already", s.Name)
	}
	if err != nil {
		return s, fmt.Errorf("pause container %s: %w", s.Name, err)
	}
	return s, nil
}

var (
	errAlready   = errors.New("paused already")
	errNotPaused = errors.New("not paused")
)

// Unpause thaws a paused container, unless a commit holds it frozen: its
// thaw comes when it is done.
func (c *Store) Unpause(ref string) (State, error) {
	s, err := c.running(ref)
	if err != nil {
		return s, err
	}
	cg, err := cgroup.Open(s.ID)
	if err != nil {
		return s, fmt.Errorf("unpause container %s: %w", s.Name, err)
	}
	err = c.locked(func() error {
		cur, err := c.Get(s.ID)
		if err != nil {
			return err
		}
		if !cur.Paused {
			return errNotPaused
		}
		if len(liveFreezers(cur.FrozenBy)) == 0 {
			if err := thawUnlessGone(cg); err != nil {
				return err
			}
		}
		cur.Paused = false
		s = cur
		return c.put(cur)
	})
	if errors.Is(err, errNotPaused) {
		return s, fmt.Errorf("container %s is not paused", s.Name)
	}
	if err != nil {
		return s, fmt.Errorf("unpause container %s: %w", s.Name, err)
	}
	return s, nil
}

// running resolves a running container, its dead freezers settled.
func (c *Store) running(ref string) (State, error) {
	s, err := c.Resolve(ref)
	if err != nil {
		return s, err
	}
	if s, err = c.settleFreeze(s); err != nil {
		return s, err
	}
	if !c.alive(s) {
		return s, fmt.Errorf("container %s: %w", s.Name, ErrNotRunning)
	}
	return s, nil
}
