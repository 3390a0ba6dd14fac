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
	fd, err := Openat2(root, clean, &unix.OpenHow{
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

// ListInChain lists directory dir ("" for the root) as the image whose top
// layer is top shows it: each name mapped to the path of the entry shown
// (in the nearest layer that has it), names that whiteouts hide left out.
// It is an error wrapping fs.ErrNotExist when the image shows no directory
// at dir, a symlink on the way included.
func (s *Store) ListInChain(top digest.Digest, dir string) (map[string]string, error) {
	clean, err := cleanName(dir)
	if err != nil {
		return nil, err
	}
	dirs, err := s.chainDiffDirs(top)
	if err != nil {
		return nil, err
	}
	w := &walker{ctx: context.Background(), opts: WalkOptions{Converter: s.conv}}
	for rest := clean; ; {
		shown, err := w.mergeLower(dirs)
		if err != nil {
			return nil, err
		}
		if rest == "" {
			out := make(map[string]string, len(shown))
			for name, le := range shown {
				if le.path != "" {
					out[name] = le.path
				}
			}
			return out, nil
		}
		var comp string
		comp, rest = splitFirst(rest)
		le := shown[comp]
		if le == nil || le.dirs == nil {
			return nil, fmt.Errorf("list %s in layers: no directory: %w", clean, fs.ErrNotExist)
		}
		dirs = le.dirs
	}
}

// chainDiffDirs lists the diff dirs of the layer top and its parents,
// nearest first.
func (s *Store) chainDiffDirs(top digest.Digest) ([]string, error) {
	var dirs []string
	for id := top; id != ""; {
		m, err := s.Get(id)
		if err != nil {
			return nil, err
		}
		dirs = append(dirs, s.DiffDir(id))
		id = m.Parent
	}
	return dirs, nil
}

// findInChain returns the diff dir of the nearest layer that has name, by
// the change walker's rules: one directory level at a time, the layers'
// copies of each directory merged as a union mount would show them.
func (s *Store) findInChain(top digest.Digest, name string) (string, error) {
	clean, err := cleanName(name)
	if err != nil || clean == "" {
		return "", fmt.Errorf("find %q in layers: %w", name, fs.ErrNotExist)
	}
	dirs, err := s.chainDiffDirs(top)
	if err != nil {
		return "", err
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
