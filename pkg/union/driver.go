package union

import (
	"fmt"
	"strings"
)

// Branches are the directories a container's rootfs is stacked from.
type Branches struct {
	Lower []string // read-only layer diff dirs, top (nearest) first
	Init  string   // the container's -init layer (read-only in the stack); may be ""
	Upper string   // the read-write layer
	Work  string   // overlay's work dir, on the upper's filesystem
	// Throwaway says the upper dir is deleted once unmounted (run --rm):
	// a driver may then skip making its writes durable.
	Throwaway bool
}

// readOnly is the read-only part of the stack, top first: init, then layers.
func (b Branches) readOnly() []string {
	ro := make([]string, 0, len(b.Lower)+1)
	if b.Init != "" {
		ro = append(ro, b.Init)
	}
	return append(ro, b.Lower...)
}

// Mount is a mount described as data; Perform carries it out.
type Mount struct {
	Type    string   // filesystem type: overlay, aufs; "" when nothing is mounted (vfs)
	Source  string   // device name shown in /proc/mounts
	Options []string // mount data, one option each
	// Lowers, when set, are passed one by one as overlay "lowerdir+"
	// parameters through the new mount API (fsopen/fsconfig, kernel 6.8+),
	// which lifts the one-page limit of the mount data.
	Lowers []string
	// Dir, when set, is the directory the mount is made from, so that the
	// relative names in Options resolve there (and stay short).
	Dir string
	// Append holds aufs branches added by remounts after the first mount,
	// when one option string cannot hold them all.
	Append []string
}

// Data is the comma-joined option string.
func (m Mount) Data() string { return strings.Join(m.Options, ",") }

func (m Mount) String() string {
	s := fmt.Sprintf("type=%s source=%s data=%q", m.Type, m.Source, m.Data())
	if m.Dir != "" {
		s += " dir=" + m.Dir
	}
	if len(m.Lowers) > 0 {
		s += fmt.Sprintf(" lowerdir+=%d layers", len(m.Lowers))
	}
	return s
}

// Driver turns branches into a mount description.
type Driver interface {
	Name() string
	// MaxLayers is the deepest read-only stack (init included) one mount
	// takes; deeper images need their bottom layers flattened first.
	MaxLayers() int
	// Describe returns the mount for these branches. It never mounts.
	Describe(b Branches) (Mount, error)
}

// New returns the named driver, configured for the features the kernel has.
func New(name string, f Features) (Driver, error) {
	if err := f.Supported(name); err != nil {
		return nil, err
	}
	switch name {
	case Overlay:
		return newOverlay(f), nil
	case AUFS:
		return aufs{}, nil
	case VFS:
		return vfs{}, nil
	}
	return nil, fmt.Errorf("unknown driver %q", name)
}

// pageSize bounds the data of mount(2): the kernel copies one page.
const pageSize = 4096
