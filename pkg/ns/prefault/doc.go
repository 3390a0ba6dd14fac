// Package prefault makes the layerctl CLI start faster by mapping, in a few
// system calls, the memory it is about to touch page by page. Import it for
// its side effect, from a main package only. (The init step's program is
// too small to gain: its heap is a few pages, and a huge page costs more.)
//
// Why: a Go program's start is mostly first touches of memory (package
// initialisation fills the heap; code and tables are read from the binary's
// image), and on a virtual machine with shadow page tables each first
// touch is a fault costing 10-20 µs: 600 of them are 8 ms of a 15 ms
// start. Here:
//   - the heap's first 2 MiB block becomes a huge page (MADV_COLLAPSE), and
//     the later ones of its first mapping at their first touch
//     (MADV_HUGEPAGE): one fault where there were hundreds; only while
//     the kernel has free 2 MiB blocks, so that it never compacts memory
//     for it;
//   - the binary's read-only segments (code, constants, tables) are mapped
//     in one MADV_POPULATE_READ, when they are in the page cache already
//     (else the call would read the whole file from disk, where faults read
//     only what runs);
//   - the binary's .data and .bss, which the runtime and the packages'
//     initialisation write all over, are mapped writable in one
//     MADV_POPULATE_WRITE (data.go).
//
// The last two run sooner, before the runtime starts, where the binary is
// linked with the entry point of pkg/ns/prefault/entrypoint (make build
// does so on amd64): init then skips them.
//
// Each step is an optimisation only: on a kernel or a THP setting without
// it, the call fails and nothing changes. The package imports only unsafe
// and entrypoint, which imports nothing (its system calls go through
// syscall.RawSyscall6 by linkname), so that
// it initialises first of the program's packages, before those that fill
// the heap (Go initialises, among the packages whose imports are done, the
// one with the lowest import path first). On other systems it does nothing.
package prefault
