package build

import (
	"testing"
	"time"
)

// RacyWindow shortens, for one test, how old a context file's ctime must
// be for its digest to be kept.
func RacyWindow(t testing.TB, d time.Duration) {
	old := racyWindow
	racyWindow = d
	t.Cleanup(func() { racyWindow = old })
}
