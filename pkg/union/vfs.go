package union

// vfs is the copy-based fallback: a container's rootfs is a full copy of its
// layers (materialised by applying them in order with whiteout semantics), and
// nothing is mounted.
type vfs struct{}

var _ Driver = vfs{}

func (vfs) Name() string   { return VFS }
func (vfs) MaxLayers() int { return 1 << 30 }

// Describe says "mount nothing": the upper dir itself is the rootfs.
func (vfs) Describe(Branches) (Mount, error) { return Mount{}, nil }
