package build

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"time"

	"golang.org/x/sys/unix"
)

// A draft COPY makes each regular file with *at system calls relative to
// open handles on its source and target directories: open both, copy the
// content in the kernel, set mode and times on the open file, close both.
// Through os.Root each step resolved the name again, and each open file
// was registered with the runtime's poller: about 35 system calls a file
// where these take 7 or 8.

// dirHandles holds an open handle on each directory of one root that a
// copy uses, by its path in the root.
type dirHandles struct {
	root       *os.Root
	files      map[string]*os.File
	setgid     map[*os.File]bool // a file made in it takes its group
	euid, egid int               // a file made elsewhere is theirs
}

func newDirHandles(root *os.Root) *dirHandles {
	return &dirHandles{root: root, files: map[string]*os.File{}, setgid: map[*os.File]bool{}, euid: os.Geteuid(), egid: os.Getegid()}
}

// madeAs tells whether a file made in dir is owned uid:gid from the start.
func (h *dirHandles) madeAs(dir *os.File, uid, gid int) bool {
	return uid == h.euid && gid == h.egid && !h.setgid[dir]
}

// at returns a handle on rel's directory, opened through the root (no
// symlink leads out of it), and rel's name in it.
func (h *dirHandles) at(rel string) (*os.File, string, error) {
	dir, name := path.Split(rel)
	dir = path.Clean(dir)
	if f, ok := h.files[dir]; ok {
		return f, name, nil
	}
	f, err := h.root.Open(dir)
	if err != nil {
		return nil, "", err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, "", err
	}
	h.files[dir], h.setgid[f] = f, fi.Mode()&fs.ModeSetgid != 0
	return f, name, nil
}

func (h *dirHandles) close() {
	for _, f := range h.files {
		f.Close()
	}
}

// errTaken says that the target name exists: the generic copy replaces it.
var errTaken = errors.New("target name taken")

// copyRegular makes the regular file to (a name in the directory dst)
// from the regular file from in src, with mode, the target's owner (set
// when chown: a new file may be it already) and the mtime mtime. It refuses with errTaken when to exists.
func (t target) copyRegular(src *os.File, from string, dst *os.File, to string, chown bool, mode fs.FileMode, mtime time.Time) error {
	// O_NONBLOCK: a name swapped for a FIFO since the walk must not hang the
	// open; the fstat below refuses it.
	in, err := unix.Openat(int(src.Fd()), from, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return &fs.PathError{Op: "open", Path: from, Err: err}
	}
	defer unix.Close(in)
	var st unix.Stat_t
	if err := unix.Fstat(in, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("%s: no longer a regular file", from)
	}
	out, err := unix.Openat(int(dst.Fd()), to, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if errors.Is(err, unix.EEXIST) {
		return errTaken
	}
	if err != nil {
		return &fs.PathError{Op: "create", Path: to, Err: err}
	}
	defer unix.Close(out)
	if err := copyContent(in, out, st.Size); err != nil {
		return fmt.Errorf("copy %s: %w", from, err)
	}
	if chown {
		if err := unix.Fchown(out, t.uid, t.gid); err != nil {
			return err
		}
	}
	if err := unix.Fchmod(out, unixMode(mode)); err != nil {
		return err
	}
	ts := unix.NsecToTimespec(mtime.UnixNano())
	return unix.UtimesNanoAt(out, "", []unix.Timespec{ts, ts}, unix.AT_EMPTY_PATH)
}

// copyContent copies the size bytes the file had when it was opened, in
// the kernel (copy_file_range; a reflink where the filesystem shares
// extents), by read and write where the kernel cannot.
func copyContent(in, out int, size int64) error {
	for size > 0 {
		n, err := unix.CopyFileRange(in, nil, out, nil, int(size), 0)
		if errors.Is(err, unix.EXDEV) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) {
			return readWrite(in, out)
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return nil // shrank: the copy is what was there
		}
		size -= int64(n)
	}
	return nil
}

func readWrite(in, out int) error {
	buf := make([]byte, 32<<10)
	for {
		n, err := unix.Read(in, buf)
		if n <= 0 || err != nil {
			return err
		}
		if _, err := unix.Write(out, buf[:n]); err != nil {
			return err
		}
	}
}

// unixMode turns a Go file mode's permission and special bits into
// chmod's.
func unixMode(m fs.FileMode) uint32 {
	mode := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		mode |= unix.S_ISUID
	}
	if m&fs.ModeSetgid != 0 {
		mode |= unix.S_ISGID
	}
	if m&fs.ModeSticky != 0 {
		mode |= unix.S_ISVTX
	}
	return mode
}
