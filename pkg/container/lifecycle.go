package container

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/layerctl/layerctl/pkg/ns"
)

// endGrace bounds how long a start waits for the recorder of a process
// that just ended (its monitor, or a foreground run) to finish with it.
const endGrace = 5 * time.Second

// awaitRecorded waits, briefly, until whoever watched a container's last
// process has recorded its exit code. Stop releases a container before its
// monitor has seen the end; the monitor then still removes the cgroup
// named after the container, which must not be a new start's.
func (c *Store) awaitRecorded(s State) State {
	for s.Pid == 0 && s.ExitCode == nil && !s.Finished.IsZero() && time.Since(s.Finished) < endGrace {
		time.Sleep(10 * time.Millisecond)
		cur, err := c.Get(s.ID)
		if err != nil {
			return s
		}
		s = cur
	}
	return s
}

// ErrNoExitCode marks a container whose process ended without anyone
// recording its exit code (its monitor was killed).
var ErrNoExitCode = errors.New("its exit code was not recorded")

// WaitExit waits until a container's process ends and returns its exit
// code as recorded (the process's own, or 128+signal). A container that
// never ran returns 0 at once, as docker wait does; one removed when it
// ended (--rm) is ErrNotFound.
func (c *Store) WaitExit(ctx context.Context, ref string) (int, error) {
	s, err := c.Resolve(ref)
	if err != nil {
		return -1, err
	}
	var ended time.Time // when the process was first seen gone
	for {
		id := s.ID
		s, err = c.Get(id)
		if errors.Is(err, ErrContainerNotFound) {
			if code, ok := c.trashedExit(id); ok {
				return code, nil // a --rm container, removed as it ended
			}
		}
		if err != nil {
			return -1, err
		}
		switch {
		case s.Pid == 0 && s.ExitCode != nil:
			return *s.ExitCode, nil
		case s.Pid == 0 && s.Finished.IsZero():
			return 0, nil
		case s.Pid != 0 && c.alive(s):
			if err := ns.WaitPid(ctx, s.Pid); err != nil {
				return -1, err
			}
			continue
		case ended.IsZero():
			ended = time.Now()
		case time.Since(ended) > endGrace:
			if s.Pid != 0 {
				c.Refresh(s)
			}
			return -1, fmt.Errorf("container %s ended: %w", s.Name, ErrNoExitCode)
		}
		select {
		case <-ctx.Done():
			return -1, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Restart stops a running container (as Stop, with timeout) and starts it
// again under a monitor (as StartDetached, with argv), with the command
// and read-write layer it has. A container made to be removed when it
// ends (--rm) cannot restart.
func (c *Store) Restart(ref string, timeout time.Duration, argv []string) (State, error) {
	s, err := c.Resolve(ref)
	if err != nil {
		return s, err
	}
	if s.Run != nil && s.Run.Remove {
		return s, fmt.Errorf("container %s goes when it stops (--rm): it cannot restart", s.Name)
	}
	if s, err = c.Stop(s.ID, timeout); err != nil {
		return s, err
	}
	return s, c.StartDetached(s.ID, argv)
}
