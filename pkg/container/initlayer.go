package container

import (
	"os"
	"path/filepath"
	"strings"
)

// initEntry is one entry of a container's -init layer.
type initEntry struct {
	path string // relative
	mode os.FileMode
	// content gives a file's body or a symlink's target.
	content func(State) string
}

// initLayer is everything the -init layer holds besides its parent dirs:
// the mountpoints and the files a container gets from its host. A commit
// and a diff leave these paths out (and all below them) even when a process
// wrote to them: they belong to this container, not to its image.
var initLayer = []initEntry{
	{path: "proc", mode: os.ModeDir | 0o555},
	{path: "sys", mode: os.ModeDir | 0o555},
	{path: "dev", mode: os.ModeDir | 0o755},
	{path: "dev/pts", mode: os.ModeDir | 0o755},
	{path: "dev/shm", mode: os.ModeDir | 0o777 | os.ModeSticky},
	{path: "etc/hosts", mode: 0o644, content: hostsFile},
	{path: "etc/hostname", mode: 0o644, content: func(s State) string { return s.Hostname + "\n" }},
	{path: "etc/resolv.conf", mode: 0o644, content: func(s State) string { return resolvConf(s.DNS) }},
	{path: "etc/mtab", mode: os.ModeSymlink, content: func(State) string { return "/proc/mounts" }},
}

// ExcludeInit tells a path (relative, no leading slash) that the -init layer
// owns: a commit or a diff never carries it.
func ExcludeInit(rel string) bool {
	for _, e := range initLayer {
		if rel == e.path || strings.HasPrefix(rel, e.path+"/") {
			return true
		}
	}
	return false
}

// writeInit fills the -init layer. It is a fresh directory of the
// container's own: every path component is a real directory made here, so an
// image's symlink at /etc or /dev is masked, never written through.
func writeInit(dir string, s State) error {
	if err := initDir(filepath.Join(dir, "etc"), 0o755); err != nil {
		return err
	}
	for _, e := range initLayer {
		p := filepath.Join(dir, e.path)
		var err error
		switch {
		case e.mode.IsDir():
			err = initDir(p, e.mode)
		case e.mode&os.ModeSymlink != 0:
			err = os.Symlink(e.content(s), p)
		default:
			err = os.WriteFile(p, []byte(e.content(s)), e.mode)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func initDir(p string, mode os.FileMode) error {
	if err := os.Mkdir(p, mode); err != nil {
		return err
	}
	return os.Chmod(p, mode) // past the umask
}
