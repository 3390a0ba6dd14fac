package whiteout

import (
	"bytes"
	"errors"

	"golang.org/x/sys/unix"
)

// ListXattrs names the extended attributes of path, never following a
// symlink. Overlay keeps its marks there, and layers carry the others.
func ListXattrs(path string) ([]string, error) {
	return listWith(func(b []byte) (int, error) { return unix.Llistxattr(path, b) })
}

// GetXattr reads one extended attribute of path, never following a symlink.
func GetXattr(path, name string) ([]byte, error) {
	return getWith(func(b []byte) (int, error) { return unix.Lgetxattr(path, name, b) })
}

// ListXattrsFd is ListXattrs of an open file.
func ListXattrsFd(fd int) ([]string, error) {
	return listWith(func(b []byte) (int, error) { return unix.Flistxattr(fd, b) })
}

// GetXattrFd is GetXattr of an open file.
func GetXattrFd(fd int, name string) ([]byte, error) {
	return getWith(func(b []byte) (int, error) { return unix.Fgetxattr(fd, name, b) })
}

// listWith calls list with a buffer grown until the names fit; a
// filesystem without xattrs has none.
func listWith(list func([]byte) (int, error)) ([]string, error) {
	buf := make([]byte, 256)
	for {
		n, err := list(buf)
		if errors.Is(err, unix.ERANGE) {
			buf = make([]byte, len(buf)*4)
			continue
		}
		if errors.Is(err, unix.ENOTSUP) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		var names []string
		for _, b := range bytes.Split(buf[:n], []byte{0}) {
			if len(b) > 0 {
				names = append(names, string(b))
			}
		}
		return names, nil
	}
}

func getWith(get func([]byte) (int, error)) ([]byte, error) {
	buf := make([]byte, 256)
	for {
		n, err := get(buf)
		if errors.Is(err, unix.ERANGE) {
			buf = make([]byte, len(buf)*4)
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	}
}
