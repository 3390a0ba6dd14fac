package container

import (
	"fmt"
	"slices"

	"github.com/layerctl/layerctl/pkg/cgroup"
)

// Rename gives container ref a new name, as docker rename: one of the form
// create takes that no other container has. The record is read and written
// under the containers' lock, as every record update is.
func (c *Store) Rename(ref, name string) (State, error) {
	if !validName().MatchString(name) {
		return State{}, fmt.Errorf("invalid name %q: use letters, digits, '_', '.' and '-'", name)
	}
	var s State
	err := c.locked(func() error {
		cur, err := c.Resolve(ref)
		if err != nil {
			return err
		}
		if cur.Name == name {
			return fmt.Errorf("container %s is named %s already", cur.ID[:12], name)
		}
		if existing, err := c.Resolve(name); err == nil && existing.Name == name {
			return fmt.Errorf("name %q is taken by container %s: %w", name, existing.ID[:12], ErrContainerExists)
		}
		cur.Name = name
		s = cur
		return c.put(cur)
	})
	return s, err
}

// Processes lists the PIDs of a running container's processes (its
// cgroup's: the init process, its children and every exec), sorted.
func (c *Store) Processes(ref string) ([]int, error) {
	s, err := c.running(ref)
	if err != nil {
		return nil, err
	}
	cg, err := cgroup.Open(s.ID)
	if err != nil {
		return nil, fmt.Errorf("container %s: its cgroup: %w", s.Name, err)
	}
	pids, err := cg.Procs()
	if err != nil {
		return nil, fmt.Errorf("container %s: its processes: %w", s.Name, err)
	}
	slices.Sort(pids)
	return slices.Compact(pids), nil // each v1 hierarchy lists them
}
