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

// OpenInChain opens the regular file name as the image whose top layer is top
// sees it: the nearest layer that has name wins; a whiteout of name or of one
// of its parents, or an opaque parent, ends the search.
func (s *Store) OpenInChain(top digest.Digest, name string) (*os.File, error) {
	name, err := cleanName(name)
	if err != nil || name == "" {
		return nil, fmt.Errorf("open %q in layers: %w", name, fs.ErrNotExist)
	}
	for id := top; id != ""; {
		m, err := s.Get(id)
		if err != nil {
			return nil, err
		}
		f, hidden, err := s.openInLayer(s.DiffDir(id), name)
		if f != nil || err != nil {
			return f, err
		}
		if hidden {
			break
		}
		id = m.Parent
	}
	return nil, fmt.Errorf("open %s in layers: %w", name, fs.ErrNotExist)
}

// openInLayer returns the file if this layer has it, or hidden when the layer
// hides it from the layers below.
func (s *Store) openInLayer(diff, name string) (f *os.File, hidden bool, err error) {
	root, err := unix.Open(diff, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, false, err
	}
	defer unix.Close(root)
	// A whiteout or opaque mark on the way down hides everything below it.
	for dir, rest := "", name; ; {
		var comp string
		comp, rest = splitFirst(rest)
		p := joinName(dir, comp)
		var st unix.Stat_t
		if unix.Fstatat(root, p, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
			if s.hasTarWhiteout(root, dir, comp) {
				return nil, true, nil
			}
			return nil, false, nil
		}
		if s.conv.IsWhiteout(&st) {
			return nil, true, nil
		}
		if rest == "" {
			break
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return nil, true, nil
		}
		if opaque, _ := s.conv.IsOpaque(diff + "/" + p); opaque {
			// The dir's children below are hidden unless this layer has them.
			defer func() {
				if f == nil && err == nil {
					hidden = true
				}
			}()
		}
		dir = p
	}
	fd, err := unix.Openat2(root, name, &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOFOLLOW,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS,
	})
	if errors.Is(err, unix.ELOOP) {
		return nil, true, nil // a symlink, not a file
	}
	if err != nil {
		return nil, false, err
	}
	return os.NewFile(uintptr(fd), name), false, nil
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
