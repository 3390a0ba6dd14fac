package layer

import (
	"path/filepath"

	digest "github.com/opencontainers/go-digest"
)

// The names inside a layer's directory, the same in its staging dir.
const (
	diffDirName   = "diff"
	shadowDirName = "shadow"
	metaFile      = "meta.json"
	tarSplitFile  = "tar-split.json.gz"
)

// Paths lays out a store on disk (DESIGN.md, "On disk"). Its methods are
// the only places that turn an identifier into a path, for the layer store
// and for the image and container records kept beside it.
type Paths struct {
	root string
}

// NewPaths lays out the store at root, which is absolute.
func NewPaths(root string) Paths { return Paths{root: root} }

// Root is the store's top directory.
func (p Paths) Root() string { return p.root }

// Settings is store.json, the driver and whiteout form fixed at creation.
func (p Paths) Settings() string { return filepath.Join(p.root, "store.json") }

// StoreLock is the file whose flock is the store-wide shared/exclusive lock.
func (p Paths) StoreLock() string { return filepath.Join(p.root, "lock") }

// Locks holds the named exclusive locks; Lock is one of them.
func (p Paths) Locks() string { return filepath.Join(p.root, "locks") }

// Lock is the named lock file (a chainID hex, "images", "containers").
func (p Paths) Lock(name string) string { return filepath.Join(p.Locks(), name) }

// Tmp is where everything is built before it is renamed into place.
func (p Paths) Tmp() string { return filepath.Join(p.root, "tmp") }

// Leases holds one flocked file per live lease.
func (p Paths) Leases() string { return filepath.Join(p.root, "leases") }

// Blobs holds the sha256 blobs by their hex.
func (p Paths) Blobs() string { return filepath.Join(p.root, "blobs", digest.SHA256.String()) }

// Blob is one blob's file.
func (p Paths) Blob(d digest.Digest) string {
	return filepath.Join(p.root, "blobs", d.Algorithm().String(), d.Encoded())
}

// Layers holds one directory per layer, named by its chainID hex.
func (p Paths) Layers() string { return filepath.Join(p.root, "layers") }

// Layer is a layer's directory: diff/, meta.json, tar-split, shadow/.
func (p Paths) Layer(chainID digest.Digest) string {
	return filepath.Join(p.Layers(), chainID.Encoded())
}

// Diff is the directory holding a layer's files.
func (p Paths) Diff(chainID digest.Digest) string {
	return filepath.Join(p.Layer(chainID), diffDirName)
}

// Meta is a layer's meta.json.
func (p Paths) Meta(chainID digest.Digest) string {
	return filepath.Join(p.Layer(chainID), metaFile)
}

// TarSplit is a layer's recorded tar headers.
func (p Paths) TarSplit(chainID digest.Digest) string {
	return filepath.Join(p.Layer(chainID), tarSplitFile)
}

// Shadow holds the content of a layer's stream that its diff dir cannot
// (see shadow.go).
func (p Paths) Shadow(chainID digest.Digest) string {
	return filepath.Join(p.Layer(chainID), shadowDirName)
}

// FlatRoot holds the flattened bases of images deeper than a driver stacks.
func (p Paths) FlatRoot() string { return filepath.Join(p.root, "flat") }

// Flat is the flattened base whose top layer is chainID.
func (p Paths) Flat(chainID digest.Digest) string {
	return filepath.Join(p.FlatRoot(), chainID.Encoded())
}

// Volumes holds the named volumes, each a directory whose _data is what
// containers mount (Docker's layout).
func (p Paths) Volumes() string { return filepath.Join(p.root, "volumes") }

// Images holds the image records and refs.json.
func (p Paths) Images() string { return filepath.Join(p.root, "images") }

// ImageRecord is the record of the image whose config digest is id.
func (p Paths) ImageRecord(id digest.Digest) string {
	return filepath.Join(p.Images(), id.Encoded()+".json")
}

// ImageRefs maps names to image IDs.
func (p Paths) ImageRefs() string { return filepath.Join(p.Images(), "refs.json") }

// Containers holds one directory per container.
func (p Paths) Containers() string { return filepath.Join(p.root, "containers") }

// Container is a container's directory.
func (p Paths) Container(id string) string { return filepath.Join(p.Containers(), id) }

// The parts of a container's directory (DESIGN.md, "On disk").
const (
	ContainerInit   = "init"
	ContainerRW     = "rw"
	ContainerWork   = "work"
	ContainerMerged = "merged"
	ContainerState  = "state.json"
	ContainerLog    = "container.log"
)

// Trash holds removed containers' directories, each moved there whole by
// one rename and deleted later: nothing lists it.
func (p Paths) Trash() string { return filepath.Join(p.root, "trash") }

// ContainerPart is one part (ContainerInit, ContainerRW, ...) of a
// container's directory.
func (p Paths) ContainerPart(id, part string) string { return filepath.Join(p.Container(id), part) }

// BuildCache holds a builder's step cache, one record per key.
func (p Paths) BuildCache() string { return filepath.Join(p.root, "buildcache") }

// BuildCacheEntry is the record of one build step's cache key.
func (p Paths) BuildCacheEntry(key digest.Digest) string {
	return filepath.Join(p.BuildCache(), key.Encoded()+".json")
}
