// Package entrypoint is a Go binary's entry point, where the binary is
// linked with -E github.com/layerctl/layerctl/pkg/ns/prefault/entrypoint.entry
// (make build links layerctl and its init program so, on amd64): before
// Go's runtime starts, it maps the binary's .data and .bss writable and its
// code and read-only data, then goes on to Go's own entry point.
//
// Why there: the runtime's first steps (its interface and type tables, its
// check of the function table, the first heap spans) fault page by page
// through the image and data before any package initialises, pkg/ns/prefault
// included; and .data is untouched yet, so that mapping a page writable
// costs a copy from the page cache. Once the runtime has read a page (and
// the kernel's fault-around has mapped it read-only with its neighbours),
// its copy costs a TLB flush too: 14 µs a page on this kind of virtual
// machine, against 3. The image is mapped only when the page cache holds
// nine pages in ten of it: else the call would read the whole file from
// disk, where faults read only what runs.
//
// The package imports nothing, so that importing it changes no package's
// order of initialisation. Import it (for its side effect) in a main
// package whose binary is linked with -E; in any other binary it does
// nothing, and At reports nothing done.
package entrypoint

// Done is what the entry point did before the runtime started (all zero in
// a binary linked without it).
type Done struct {
	Data  bool // .data and .bss mapped writable
	Image bool // code and read-only data mapped
	// The image's pages, and how many of them the page cache held: the
	// entry maps the image only when it held nine in ten.
	ImagePages, CachedPages int
}
