package whiteout

import (
	"strings"
)

const (
	// Prefix marks a whiteout file in a layer tar: ".wh.NAME" deletes NAME.
	Prefix = ".wh."
	// MetaPrefix starts aufs's own bookkeeping names, never whiteouts of a file.
	MetaPrefix = Prefix + Prefix
	// OpaqueMarker inside a directory hides every lower child of that directory.
	OpaqueMarker = MetaPrefix + ".opq"
)

// Kind tells what a base name in a layer tar means.
type Kind int

const (
	// Regular is an ordinary name.
	Regular Kind = iota
	// Whiteout deletes Target from the lower layers.
	Whiteout
	// Opaque hides the lower children of the directory holding the marker.
	Opaque
	// Meta is an aufs internal name (".wh..wh.plnk", ".wh..wh.aufs", ...).
	Meta
)

// Classify tells what the base name of a tar entry means. For a whiteout it
// also returns the name it deletes.
func Classify(base string) (kind Kind, target string) {
	switch {
	case base == OpaqueMarker:
		return Opaque, ""
	case strings.HasPrefix(base, MetaPrefix):
		return Meta, ""
	case strings.HasPrefix(base, Prefix):
		return Whiteout, base[len(Prefix):]
	}
	return Regular, ""
}

// TarName is the tar base name that deletes name.
func TarName(name string) string { return Prefix + name }

// ValidTarget reports whether a whiteout's target names one entry of its
// directory: not empty, not "." or "..", no slash.
func ValidTarget(target string) bool {
	return target != "" && target != "." && target != ".." && !strings.Contains(target, "/")
}
