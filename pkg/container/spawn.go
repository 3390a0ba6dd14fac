package container

import "github.com/layerctl/layerctl/pkg/ns"

// Spawned is a container's init step started before the container is
// made (Spawn).
type Spawned struct {
	stdio  Stdio
	launch ns.Launch
	done   chan struct{} // closed once the spawn is over
	sp     *ns.Spawned   // nil when the spawn failed
}

// Spawn starts, in the background, the init step of a container that will
// run with rc and stdio, before the container is made: creating it (its
// layers and record, a few ms) then overlaps the init step's clone, exec
// and runtime start. StartSpawned gives the init step its container; Abort
// ends it.
func Spawn(rc *RunConfig, stdio Stdio) *Spawned {
	if rc == nil {
		rc = &RunConfig{}
	}
	s := &Spawned{stdio: stdio, done: make(chan struct{}), launch: ns.Launch{
		Net: rc.Net, TTY: rc.TTY, Stdin: stdio.Stdin, Stdout: stdio.Stdout, Stderr: stdio.Stderr,
	}}
	go func() {
		defer close(s.done)
		s.sp, _ = ns.Spawn(s.launch) // a failure shows again in the start that replaces it
	}()
	return s
}

// Early tells an init step started as this process began, before its
// packages were initialised (ns.Spawned.Early); false on nil.
func (s *Spawned) Early() bool {
	if s == nil {
		return false
	}
	<-s.done
	return s.sp != nil && s.sp.Early()
}

// Abort ends the init step; a no-op once it started its container, or on
// nil.
func (s *Spawned) Abort() {
	if s == nil {
		return
	}
	<-s.done
	if s.sp != nil {
		s.sp.Abort()
	}
}

// start starts spec's container on the spawned init step when it fits
// spec (its network and terminal) and ns.Start otherwise; a nil s is none.
func (s *Spawned) start(spec ns.Spec) (*ns.Process, error) {
	if s == nil {
		return ns.Start(spec)
	}
	<-s.done
	if s.sp == nil || spec.Net != s.launch.Net || spec.TTY != s.launch.TTY {
		s.Abort()
		s.sp = nil // not the step the container runs on
		return ns.Start(spec)
	}
	return s.sp.Start(spec)
}
