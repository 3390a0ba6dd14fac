//go:build !amd64 && !arm64

package prespawn

// No memfd_create number known here: no sealed program, no early start.
var sysMemfdCreate = -1
