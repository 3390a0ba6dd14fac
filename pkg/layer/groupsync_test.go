package layer

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Callers that arrive while a sync runs share the next one, and every
// caller's sync began after it called.
func TestGroupSyncShares(t *testing.T) {
	g := newGroupSync()
	var calls atomic.Int32
	var lastStart atomic.Int64
	fn := func() error {
		calls.Add(1)
		lastStart.Store(time.Now().UnixNano())
		time.Sleep(20 * time.Millisecond)
		return nil
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			called := time.Now().UnixNano()
			if err := g.sync(fn); err != nil {
				t.Error(err)
			}
			if lastStart.Load() < called {
				t.Error("returned without a sync that began after the call")
			}
		}()
	}
	wg.Wait()
	if n := calls.Load(); n < 1 || n > 3 {
		t.Errorf("%d syncs for 10 callers arriving together, want 1 to 3", n)
	}
}
