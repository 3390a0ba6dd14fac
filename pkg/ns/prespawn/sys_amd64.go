package prespawn

// memfd_create(2), which package syscall lacks on amd64, and the new mount
// API's calls (numbered alike on every architecture since Linux 5.1).
const (
	sysMemfdCreate = 319
	sysFsopen      = 430
	sysFsconfig    = 431
	sysFsmount     = 432
)
