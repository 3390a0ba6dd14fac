package prespawn

import "syscall"

// The new mount API's calls are numbered alike on every architecture since
// Linux 5.1.
const (
	sysMemfdCreate = syscall.SYS_MEMFD_CREATE
	sysFsopen      = 430
	sysFsconfig    = 431
	sysFsmount     = 432
)
