package container_test

import (
	"os"
	"testing"

	"github.com/layerctl/layerctl/pkg/container"
	"github.com/layerctl/layerctl/pkg/union/uniontest"
)

// monitorArg makes this test binary a detached container's monitor (see
// TestMain): "monitorArg ROOT ID".
const monitorArg = "container-test-monitor"

// serveMonitor is the monitor's side of StartDetached, in this binary.
func serveMonitor(args []string) int {
	if err := container.ServeMonitor(args[0], args[1]); err != nil {
		return 1
	}
	return 0
}

// monitorArgv is the monitor's command line for a container of the store at
// root.
func monitorArgv(root, id string) []string {
	return []string{os.Args[0], monitorArg, root, id}
}

// openFacade opens a fresh overlay store through the facade. When the test
// ends every container is removed and the store closed; no mount or cgroup
// of them may be left.
func openFacade(t *testing.T) *container.Store {
	t.Helper()
	requireRun(t)
	root := t.TempDir()
	uniontest.CleanupMounts(t, root)
	s, err := container.Open(root, container.WithDriver("overlay"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		all, _ := s.List()
		for _, st := range all {
			if _, err := s.Remove(st.ID, true); err != nil {
				t.Errorf("clean up: remove %s: %v", st.ID, err)
			}
			checkNoCgroup(t, st.ID)
		}
		s.Close()
	})
	return s
}
