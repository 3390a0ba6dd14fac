package layer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/whiteout"
)

// errNotRegular refuses to read anything but a regular file: opening a FIFO
// blocks, and opening a device as root reaches the host.
var errNotRegular = errors.New("not a regular file")

// openRegular opens the regular file name below root for reading, and
// nothing else. Its type is checked on an O_PATH handle, which opens
// nothing, and the file is opened again through that very handle, so a
// swap in between cannot make it open a FIFO or a device.
func openRegular(root int, name string) (*os.File, error) {
	path, err := Openat2(root, name, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return nil, err
	}
	defer unix.Close(path)
	return reopenRegular(path, name)
}

// reopenRegular opens for reading the file that the O_PATH handle path
// refers to, if it is a regular file.
func reopenRegular(path int, name string) (*os.File, error) {
	var st unix.Stat_t
	if err := unix.Fstat(path, &st); err != nil {
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, errNotRegular
	}
	fd, err := unix.Open(procFd(path), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("reopen %s: %w", name, err)
	}
	var again unix.Stat_t
	if err := unix.Fstat(fd, &again); err != nil || again.Mode&unix.S_IFMT != unix.S_IFREG || again.Ino != st.Ino || again.Dev != st.Dev {
		unix.Close(fd)
		return nil, errNotRegular
	}
	return os.NewFile(uintptr(fd), name), nil
}

// reopenDir opens for reading the directory that the O_PATH handle path
// refers to; O_DIRECTORY fails on anything else before opening it.
func reopenDir(path int) (int, error) {
	return unix.Open(procFd(path), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
}

// procFd names an open file by its descriptor: path operations on it act on
// that very inode.
func procFd(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }

// copyPathXattrs copies the extended attributes between two O_PATH handles
// (of FIFOs or devices, which are never opened), except the driver's own.
func copyPathXattrs(from, to int, conv whiteout.Converter) error {
	src, dst := procFd(from), procFd(to)
	names, err := listPathXattrs(src)
	if err != nil {
		return err
	}
	for _, name := range names {
		if conv.IsNativeXattr(name) {
			continue
		}
		size, err := unix.Getxattr(src, name, nil)
		if err != nil {
			return err
		}
		val := make([]byte, size)
		n, err := unix.Getxattr(src, name, val)
		if err != nil {
			return err
		}
		if err := unix.Setxattr(dst, name, val[:n], 0); err != nil {
			return fmt.Errorf("set xattr %s: %w", name, err)
		}
	}
	return nil
}

// listPathXattrs names the extended attributes of path, following it (the
// caller's paths are handles in /proc/self/fd).
func listPathXattrs(path string) ([]string, error) {
	for {
		size, err := unix.Listxattr(path, nil)
		if errors.Is(err, unix.ENOTSUP) {
			return nil, nil
		}
		if err != nil || size == 0 {
			return nil, err
		}
		list := make([]byte, size)
		n, err := unix.Listxattr(path, list)
		if errors.Is(err, unix.ERANGE) {
			continue // grew in between
		}
		if err != nil {
			return nil, err
		}
		var names []string
		for _, name := range bytes.Split(list[:n], []byte{0}) {
			if len(name) > 0 {
				names = append(names, string(name))
			}
		}
		return names, nil
	}
}

// holeBlock is the unit of zeros that becomes a hole: a page, the block of
// common filesystems.
const holeBlock = 4 << 10

var zeroBlock [holeBlock]byte

// holeWriter writes a new, empty file's content front to back, seeking over
// every block of zeros so that it stays a hole: disk use follows the data.
// finish sets the final size.
type holeWriter struct {
	fd      int
	off     int64 // bytes of content so far
	written int64 // end of the last data written
}

func (w *holeWriter) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		// Blocks are aligned to the file's offsets, as its disk blocks are.
		first := min(holeBlock-int(w.off%holeBlock), len(p))
		if isZeros(p[:first]) {
			w.off += int64(first)
			p = p[first:]
			continue
		}
		end := first
		for end < len(p) {
			next := min(holeBlock, len(p)-end)
			if isZeros(p[end : end+next]) {
				break
			}
			end += next
		}
		for data := p[:end]; len(data) > 0; {
			n, err := unix.Pwrite(w.fd, data, w.off)
			if err != nil {
				return total - len(p), err
			}
			data, w.off = data[n:], w.off+int64(n)
		}
		w.written = w.off
		p = p[end:]
	}
	return total, nil
}

// isZeros tells whether b (at most a block) holds only zeros. Data seldom
// starts with a zero, so most blocks are told by their first byte.
func isZeros(b []byte) bool {
	return len(b) == 0 || b[0] == 0 && bytes.Equal(b, zeroBlock[:len(b)])
}

func (w *holeWriter) finish() error {
	if w.off > w.written {
		return unix.Ftruncate(w.fd, w.off)
	}
	return nil
}

// writeContent copies r into the new, empty file fd, keeping holes.
func writeContent(fd int, r io.Reader, buf []byte) (int64, error) {
	w := &holeWriter{fd: fd}
	n, err := io.CopyBuffer(w, struct{ io.Reader }{r}, buf)
	if err != nil {
		return n, err
	}
	return n, w.finish()
}
