package prefault

// The runtime's own first steps (its type and interface tables, the
// function table's check, the first heap spans) already fault page by page
// through the binary's image and data, before any package initialises:
// the entry point does this package's mapping of the image, .data and
// .bss before them (entry_linux_amd64.s). It also finds .data and .bss
// untouched: mapped writable then, a page costs a copy from the page cache;
// once the runtime has read it, a copy and a TLB flush (0.5 ms of 77 pages
// here). Linked in only where the binary's entry is set to it; init then
// skips what the entry did.

// entry is the binary's entry point when linked with -E (make build).
func entry()

// vec is mincore's vector for the entry: a byte a page, 16 MiB a call.
var vec [4096]byte

// What entry did: set by it, read by init and At.
var (
	dataMapped, imageMapped bool
	imagePages, cachedPages int // of the image, and in the page cache then
)

// At is what the entry point did.
func At() Entry {
	return Entry{Data: dataMapped, Image: imageMapped, ImagePages: imagePages, CachedPages: cachedPages}
}
