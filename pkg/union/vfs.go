package union

// vfs is the copy-based fallback: a container's rw dir holds a full copy of
// its image and -init layer (see layer.Materialise), and "mounting" it is a bind
// mount of that copy, so a container's rootfs has the same path whatever the
// driver.
type vfs struct{}

var _ Driver = vfs{}

func (vfs) Name() string   { return VFS }
func (vfs) MaxLayers() int { return 1 << 30 }

// Describe binds the upper dir, which is the whole rootfs.
func (vfs) Describe(b Branches) (Mount, error) {
	return Mount{Type: "bind", Source: b.Upper}, nil
}

// Copies tells whether a container's rw dir must be a full copy of its
// image (made when the container is created).
func Copies(d Driver) bool { return d.Name() == VFS }
