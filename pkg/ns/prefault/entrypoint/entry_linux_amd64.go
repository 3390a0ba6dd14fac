package entrypoint

// entry is the binary's entry point when linked with -E
// (entry_linux_amd64.s).
func entry()

// vec is mincore's vector for entry: a byte a page, 16 MiB a call.
var vec [4096]byte

// What entry did, which it sets.
var (
	dataMapped, imageMapped bool
	imagePages, cachedPages int // of the image, and in the page cache then
)

// At is what the entry point did.
func At() Done {
	return Done{Data: dataMapped, Image: imageMapped, ImagePages: imagePages, CachedPages: cachedPages}
}
