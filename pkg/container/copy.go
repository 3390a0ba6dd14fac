package container

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/union"
)

// cp follows docker cp's rules: a source ending in "/." copies a
// directory's contents; otherwise the source itself lands in a destination
// directory that exists, or becomes the destination when it does not
// (its parent must exist). A source that is a symlink is copied as a link
// unless it ends in "/". A container's paths resolve inside its root
// (see copytar.go), whether it runs or not: it is mounted for the copy
// (counted, so a running container's mount stays) and unmounted after.

// CopyOptions are docker cp's flags.
type CopyOptions struct {
	// Archive keeps the source's owners (-a); otherwise the copy belongs to
	// whoever runs it (root: in a container, its root user).
	Archive bool
	// FollowLink copies what a symlink named as the source points to
	// (-L), under the link's name.
	FollowLink bool
}

// ErrCopy marks a copy the rules refuse (a directory onto a file, a
// missing destination directory).
var ErrCopy = errors.New("cannot copy")

// copyPlan says where the tree of src lands: the directory to extract
// into and the name of the tree's top entry ("." for its contents).
func copyPlan(src string, srcIsDir bool, dst string, dstExists, dstIsDir bool) (dir, top string, err error) {
	contents := srcIsDir && (src == "." || strings.HasSuffix(src, "/."))
	cleanDst := path.Clean(dst)
	switch {
	case dstExists && dstIsDir:
		if contents {
			return cleanDst, ".", nil
		}
		return cleanDst, path.Base(path.Clean(src)), nil
	case dstExists:
		if srcIsDir {
			return "", "", fmt.Errorf("%w a directory onto the file %s", ErrCopy, dst)
		}
		return path.Dir(cleanDst), path.Base(cleanDst), nil
	case strings.HasSuffix(dst, "/") && !srcIsDir:
		return "", "", fmt.Errorf("%w: the directory %s does not exist", ErrCopy, dst)
	}
	return path.Dir(cleanDst), path.Base(cleanDst), nil
}

// followSource tells whether a source's last symlink is followed.
func followSource(src string, o CopyOptions) bool {
	return o.FollowLink || strings.HasSuffix(src, "/") || strings.HasSuffix(src, "/.")
}

// withRoot runs fn with an O_PATH fd of a container's root, mounted for
// it; ref "" is the host's /.
func (c *Store) withRoot(ref string, fn func(root int) error) error {
	dir := "/"
	if ref != "" {
		s, err := c.Resolve(ref)
		if err != nil {
			return err
		}
		if dir, err = c.Mount(s.ID); err != nil {
			return err
		}
		c.copies.hold(s.ID)
		defer c.releaseCopy(s.ID, false)
	}
	root, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(root)
	return fn(root)
}

// heldMounts counts the mounts a copy of this process holds, by container.
type heldMounts struct {
	mu  sync.Mutex
	ids map[string]int
}

func (h *heldMounts) hold(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ids == nil {
		h.ids = map[string]int{}
	}
	h.ids[id]++
}

// drop takes one hold of id away, and tells whether there was one.
func (h *heldMounts) drop(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ids[id] == 0 {
		return false
	}
	h.ids[id]--
	return true
}

// releaseCopy gives back a copy's mount of container id, once: the end of
// the copy and ReleaseCopies may both try.
func (c *Store) releaseCopy(id string, lazy bool) error {
	if !c.copies.drop(id) {
		return nil
	}
	return c.locked(func() error {
		s, err := c.Resolve(id)
		if err != nil {
			return err
		}
		if lazy && s.MountCount <= 1 {
			// The copy's fds of the tree stay valid: the mount goes once
			// they close, with the process.
			if err := union.UnmountDetached(c.MergedDir(s.ID)); err != nil {
				return err
			}
			s.MountCount = 0
			return c.put(s)
		}
		return c.umountLocked(s, false)
	})
}

// ReleaseCopies gives back the mounts this process's copies hold, while
// they run: for a process that a signal is about to end mid-copy, which
// would otherwise leave the containers mounted (and counted) for good.
func (c *Store) ReleaseCopies() error {
	c.copies.mu.Lock()
	var ids []string
	for id, n := range c.copies.ids {
		for range n {
			ids = append(ids, id)
		}
	}
	c.copies.mu.Unlock()
	var errs []error
	for _, id := range ids {
		errs = append(errs, c.releaseCopy(id, true))
	}
	return errors.Join(errs...)
}

// CopyOut writes the file or tree at src in the container ref to w as a
// tar stream (docker cp CONTAINER:SRC -).
func (c *Store) CopyOut(ref, src string, w io.Writer, o CopyOptions) error {
	return c.withRoot(ref, func(root int) error {
		return archiveTo(w, root, src, "", followSource(src, o))
	})
}

// archiveTo writes the tree at src below root to w, its top entry named
// top ("" for src's own name; a "/." source: its contents).
func archiveTo(w io.Writer, root int, src, top string, follow bool) error {
	fd, err := openInRoot(root, src, follow)
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	defer unix.Close(fd)
	if top == "" {
		top = path.Base(path.Clean("/" + src))
		if st, err := fdStat(fd); err == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR && strings.HasSuffix(src, "/.") {
			top = "."
		}
	}
	tw := tar.NewWriter(w)
	if err := archive(tw, fd, top); err != nil {
		return err
	}
	return tw.Close()
}

// CopyIn extracts the tar stream r into the directory dst of the container
// ref (docker cp - CONTAINER:DST); with o.Archive, owned as the stream says.
func (c *Store) CopyIn(ref, dst string, r io.Reader, o CopyOptions) error {
	return c.withRoot(ref, func(root int) error {
		fd, err := openInRoot(root, dst, true)
		if err != nil {
			return fmt.Errorf("%s: %w", dst, err)
		}
		st, err := fdStat(fd)
		unix.Close(fd)
		if err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return fmt.Errorf("%w: %s is not a directory", ErrCopy, dst)
		}
		return extract(tar.NewReader(r), root, dst, extractOptions{keepOwner: o.Archive})
	})
}

// Copy copies src to dst, one of them in the container ref: into it
// (toContainer: src on the host, dst in the container) or out of it.
func (c *Store) Copy(ref string, toContainer bool, src, dst string, o CopyOptions) error {
	var err error
	if toContainer {
		src, err = filepath.Abs(src)
	} else {
		dst, err = filepath.Abs(dst)
	}
	if err != nil {
		return err
	}
	srcRef, dstRef := ref, ""
	if toContainer {
		srcRef, dstRef = "", ref
	}
	return c.withRoot(srcRef, func(srcRoot int) error {
		return c.withRoot(dstRef, func(dstRoot int) error {
			return copyBetween(srcRoot, src, dstRoot, dst, followSource(src, o), extractOptions{host: !toContainer, keepOwner: o.Archive})
		})
	})
}

// copyBetween copies src below srcRoot to dst below dstRoot, through a
// tar stream.
func copyBetween(srcRoot int, src string, dstRoot int, dst string, follow bool, o extractOptions) error {
	sfd, err := openInRoot(srcRoot, src, follow)
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	sst, err := fdStat(sfd)
	unix.Close(sfd)
	if err != nil {
		return err
	}
	var dstExists, dstIsDir bool
	if dfd, err := openInRoot(dstRoot, dst, true); err == nil {
		dst, _ := fdStat(dfd)
		unix.Close(dfd)
		dstExists, dstIsDir = true, dst.Mode&unix.S_IFMT == unix.S_IFDIR
	}
	dir, top, err := copyPlan(src, sst.Mode&unix.S_IFMT == unix.S_IFDIR, dst, dstExists, dstIsDir)
	if err != nil {
		return err
	}
	pr, pw := io.Pipe()
	archived := make(chan error, 1)
	go func() {
		err := archiveTo(pw, srcRoot, src, top, follow)
		pw.CloseWithError(err)
		archived <- err
	}()
	err = extract(tar.NewReader(pr), dstRoot, dir, o)
	pr.CloseWithError(errors.New("extraction ended"))
	// The roots stay open (and mounted) until the archiver is done.
	if aerr := <-archived; err == nil {
		err = aerr
	}
	return err
}

// Export writes a container's filesystem, as its processes see it (its
// image with its changes; no volume or other mount), to w as one tar
// stream (docker export).
func (c *Store) Export(ref string, w io.Writer) error {
	return c.CopyOut(ref, "/.", w, CopyOptions{})
}
