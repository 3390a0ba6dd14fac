//go:build !amd64 && !arm64

package prespawn

// No memfd_create or fsopen number known here: no sealed program, no early
// start.
var (
	sysMemfdCreate = -1
	sysFsopen      = -1
	sysFsconfig    = -1
	sysFsmount     = -1
)
