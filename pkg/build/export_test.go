package build

import "testing"

// CopyHooks sets the COPY hooks for one test: containerOnly sends every
// COPY through a container; via learns which way each went.
func CopyHooks(t testing.TB, containerOnly bool, via func(viaDraft bool)) {
	noDraft, copiedVia = containerOnly, via
	t.Cleanup(func() { noDraft, copiedVia = false, nil })
}
