package layer

import "sync"

// groupSync lets many layers of one pull share a syncfs: a caller needs a
// sync that starts after its own writes, so while one runs, the callers that
// arrive wait for the next, which then serves them all.
type groupSync struct {
	mu        sync.Mutex
	cond      *sync.Cond
	started   uint64 // syncs begun
	completed uint64 // the latest sync done
	running   bool
	err       error // of the latest sync
}

func newGroupSync() *groupSync {
	g := &groupSync{}
	g.cond = sync.NewCond(&g.mu)
	return g
}

// sync returns once a call of fn that began after this call has finished.
func (g *groupSync) sync(fn func() error) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	want := g.started + 1 // the first sync to start from now on
	for g.completed < want {
		if g.running {
			g.cond.Wait()
			continue
		}
		g.running = true
		g.started++
		n := g.started
		g.mu.Unlock()
		err := fn()
		g.mu.Lock()
		g.running, g.completed, g.err = false, n, err
		g.cond.Broadcast()
	}
	return g.err
}
