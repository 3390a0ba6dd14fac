package prefault

// Entry is what the binary's entry point did before the runtime started
// (all zero in a binary linked without it).
type Entry struct {
	Data  bool // .data and .bss mapped writable
	Image bool // code and read-only data mapped
	// The image's pages, and how many of them the page cache held: the
	// entry maps the image only when it held nine in ten.
	ImagePages, CachedPages int
}
