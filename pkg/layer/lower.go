package layer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/whiteout"
)

// OpenInChain returns a handle on name as the image whose top layer is top
// sees it: the nearest layer that has name wins; a whiteout of name or of one
// of its parents, or an opaque parent, ends the search. The handle is an
// O_PATH one, which opens nothing: it tells the entry's type and pins it, and
// only a regular file or a directory may then be opened through it (a FIFO
// would block, a device is the host's).
func (s *Store) OpenInChain(top digest.Digest, name string) (*os.File, error) {
	diff, err := s.findInChain(top, name)
	if err != nil {
		return nil, err
	}
	root, err := unix.Open(diff, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(root)
	clean, _ := cleanName(name)
	fd, err := unix.Openat2(root, clean, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC | unix.O_NOFOLLOW,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS,
	})
	if errors.Is(err, unix.ELOOP) {
		return nil, fmt.Errorf("open %s in layers: a symlink on the way: %w", clean, fs.ErrNotExist)
	}
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), clean), nil
}

// findInChain returns the diff dir of the nearest layer that has name.
func (s *Store) findInChain(top digest.Digest, name string) (string, error) {
	clean, err := cleanName(name)
	if err != nil || clean == "" {
		return "", fmt.Errorf("find %q in layers: %w", name, fs.ErrNotExist)
	}
	for id := top; id != ""; {
		m, err := s.Get(id)
		if err != nil {
			return "", err
		}
		found, hidden, err := s.findInLayer(s.DiffDir(id), clean)
		if err != nil {
			return "", err
		}
		if found {
			return s.DiffDir(id), nil
		}
		if hidden {
			break
		}
		id = m.Parent
	}
	return "", fmt.Errorf("find %s in layers: %w", clean, fs.ErrNotExist)
}

// findInLayer tells whether this layer has name, or hides it from the layers
// below (a whiteout or an opaque directory on the way).
func (s *Store) findInLayer(diff, name string) (found, hidden bool, err error) {
	root, err := unix.Open(diff, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, false, err
	}
	defer unix.Close(root)
	return s.findBelowRoot(root, diff, name)
}

// findBelowRoot is findInLayer on an open handle of the layer's diff dir.
func (s *Store) findBelowRoot(root int, diff, name string) (found, hidden bool, err error) {
	opaqueAbove := false
	for dir, rest := "", name; ; {
		var comp string
		comp, rest = splitFirst(rest)
		p := joinName(dir, comp)
		var st unix.Stat_t
		if unix.Fstatat(root, p, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
			return false, opaqueAbove || s.hasTarWhiteout(root, dir, comp), nil
		}
		if s.conv.IsWhiteout(&st) {
			return false, true, nil
		}
		if rest == "" {
			return true, false, nil
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return false, true, nil // a file here hides anything below its name
		}
		if opaque, _ := s.conv.IsOpaque(diff + "/" + p); opaque {
			opaqueAbove = true
		}
		// A passthrough store keeps the tar's marker file instead.
		if s.conv.Passthrough() && unix.Fstatat(root, joinName(p, whiteout.OpaqueMarker), &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
			opaqueAbove = true
		}
		dir = p
	}
}

// hasTarWhiteout tells whether a passthrough layer carries ".wh.comp" or an
// opaque marker in dir.
func (s *Store) hasTarWhiteout(root int, dir, comp string) bool {
	if !s.conv.Passthrough() {
		return false
	}
	var st unix.Stat_t
	return unix.Fstatat(root, joinName(dir, whiteout.TarName(comp)), &st, unix.AT_SYMLINK_NOFOLLOW) == nil ||
		unix.Fstatat(root, joinName(dir, whiteout.OpaqueMarker), &st, unix.AT_SYMLINK_NOFOLLOW) == nil
}

func splitFirst(name string) (first, rest string) {
	for i := 0; i < len(name); i++ {
		if name[i] == '/' {
			return name[:i], name[i+1:]
		}
	}
	return name, ""
}

// Chain answers many lookups in one image's layers with the chain resolved
// and each diff dir opened once (diff asks for every changed path).
type Chain struct {
	s     *Store
	dirs  []string // top first
	roots []int
}

// OpenChain opens the layers of the image whose top layer is top.
func (s *Store) OpenChain(top digest.Digest) (*Chain, error) {
	c := &Chain{s: s}
	for id := top; id != ""; {
		m, err := s.Get(id)
		if err != nil {
			c.Close()
			return nil, err
		}
		fd, err := unix.Open(s.DiffDir(id), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			c.Close()
			return nil, err
		}
		c.dirs, c.roots = append(c.dirs, s.DiffDir(id)), append(c.roots, fd)
		id = m.Parent
	}
	return c, nil
}

// Exists tells whether the image has an entry at name.
func (c *Chain) Exists(name string) (bool, error) {
	clean, err := cleanName(name)
	if err != nil || clean == "" {
		return false, nil
	}
	for i, root := range c.roots {
		found, hidden, err := c.s.findBelowRoot(root, c.dirs[i], clean)
		if err != nil || found {
			return found, err
		}
		if hidden {
			return false, nil
		}
	}
	return false, nil
}

// Close releases the handles.
func (c *Chain) Close() {
	for _, fd := range c.roots {
		unix.Close(fd)
	}
	c.roots = nil
}
