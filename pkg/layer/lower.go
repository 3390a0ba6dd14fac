package layer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
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

// findInChain returns the diff dir of the nearest layer that has name, by
// the change walker's rules: one directory level at a time, the layers'
// copies of each directory merged as a union mount would show them.
func (s *Store) findInChain(top digest.Digest, name string) (string, error) {
	clean, err := cleanName(name)
	if err != nil || clean == "" {
		return "", fmt.Errorf("find %q in layers: %w", name, fs.ErrNotExist)
	}
	var dirs []string
	for id := top; id != ""; {
		m, err := s.Get(id)
		if err != nil {
			return "", err
		}
		dirs = append(dirs, s.DiffDir(id))
		id = m.Parent
	}
	w := &walker{ctx: context.Background(), opts: WalkOptions{Converter: s.conv}}
	for rest := clean; dirs != nil; {
		var comp string
		comp, rest = splitFirst(rest)
		shown, err := w.mergeLower(dirs)
		if err != nil {
			return "", err
		}
		le := shown[comp]
		if le == nil || le.path == "" {
			break
		}
		if rest == "" {
			return le.path[:len(le.path)-len(clean)-1], nil
		}
		dirs = le.dirs // nil past a non-directory: it hides what is below its name
	}
	return "", fmt.Errorf("find %s in layers: %w", clean, fs.ErrNotExist)
}

func splitFirst(name string) (first, rest string) {
	for i := 0; i < len(name); i++ {
		if name[i] == '/' {
			return name[:i], name[i+1:]
		}
	}
	return name, ""
}
