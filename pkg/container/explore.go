package container

import (
	"context"
	"fmt"
	"io"
	"os"

	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/layer"
)

// Layer is the record of one layer of the store.
func (c *Store) Layer(chainID digest.Digest) (LayerMeta, error) { return c.layers.Get(chainID) }

// ChainChanges calls fn with each change that layer i of chain (an image's
// chain IDs, base first) makes to the layers beneath it, from the store's one
// change walker: what the explorer reads. The chain names the lower layers,
// so no parent record is read (an image of hundreds of layers would read
// them over and over). It only reads.
func (c *Store) ChainChanges(ctx context.Context, chain []digest.Digest, i int, fn func(layer.Change) error) error {
	lower := make([]string, 0, i)
	for j := i - 1; j >= 0; j-- {
		lower = append(lower, c.layers.DiffDir(chain[j]))
	}
	opts := layer.WalkOptions{Converter: c.layers.Converter(), Lower: lower}
	return layer.WalkChanges(ctx, c.layers.DiffDir(chain[i]), opts, fn)
}

// ReadLayerFile reads up to max bytes of the regular file name (relative,
// "etc/passwd") of the layer chainID's diff dir. It resolves name beneath
// the diff dir and follows no symlink: a layer's link can never make it read
// outside the layer, nor open a FIFO or a device.
func (c *Store) ReadLayerFile(chainID digest.Digest, name string, max int64) ([]byte, error) {
	root, err := unix.Open(c.layers.DiffDir(chainID), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", chainID, err)
	}
	defer unix.Close(root)
	// An O_PATH handle opens nothing: only once it is known to be a
	// regular file is it opened for reading, through that very handle.
	path, err := layer.Openat2(root, name, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	defer unix.Close(path)
	var st unix.Stat_t
	if err := unix.Fstat(path, &st); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, fmt.Errorf("read %s: not a regular file", name)
	}
	f, err := os.Open(fmt.Sprintf("/proc/self/fd/%d", path))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, max))
}
