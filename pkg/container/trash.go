package container

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/union"
)

// The trash (layer.Paths.Trash) holds the directories of removed
// containers. A container leaves the store in one rename into it, record
// and layers together, so no command ever sees half of one; deleting its
// files, a few milliseconds of directory removals on ext4, happens later
// and elsewhere: in the next Start while its container's process starts,
// in gc, or at once in rm. Nothing lists the trash, and nothing in it is
// mounted.

// discard removes a --rm container whose process ended: its rootfs is
// unmounted and its directory moves into the trash. A container removed
// meanwhile (rm -f, or stop of a --rm container) is no error.
func (c *Store) discard(id string) error {
	err := c.locked(func() error {
		if err := union.Unmount(c.MergedDir(id)); err != nil {
			return err
		}
		return c.toTrash(id)
	})
	if errors.Is(err, ErrContainerNotFound) {
		return nil
	}
	return err
}

// toTrash moves container id's directory into the trash. The caller holds
// the containers lock and has unmounted the rootfs.
func (c *Store) toTrash(id string) error {
	dst := c.trashEntry(id)
	err := os.Rename(c.Dir(id), dst)
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Lstat(c.Dir(id)); errors.Is(serr, fs.ErrNotExist) {
			return fmt.Errorf("container %s: %w", id, ErrContainerNotFound)
		}
		// The first removal in this store makes the trash.
		if err = os.Mkdir(filepath.Dir(dst), 0o700); err == nil || errors.Is(err, fs.ErrExist) {
			err = os.Rename(c.Dir(id), dst)
		}
	}
	if err != nil {
		return fmt.Errorf("remove container %s: %w", id, err)
	}
	return nil
}

func (c *Store) trashEntry(id string) string { return filepath.Join(c.layers.Paths().Trash(), id) }

// reclaimTrash deletes every container directory in the trash.
func (c *Store) reclaimTrash() {
	entries, _ := os.ReadDir(c.layers.Paths().Trash())
	for _, e := range entries {
		removeTrashEntry(filepath.Join(c.layers.Paths().Trash(), e.Name()))
	}
}

// reclaimTrashAsync starts reclaimTrash; the channel closes when it is done.
func (c *Store) reclaimTrashAsync() <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.reclaimTrash()
	}()
	return done
}

// removeTrashEntry deletes one trashed directory, unless another process
// is deleting it (it holds the directory's flock): the work is done once.
// An entry deleted in part (a crash) is finished by the next reclaim.
func removeTrashEntry(path string) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	if unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) != nil {
		return
	}
	os.RemoveAll(path)
}

// noteExit leaves the exit code of a --rm container about to be removed in
// its directory, which goes into the trash whole: a wait begun while it
// ran finds the code there once the container is gone, as Docker's wait
// reports it. The trash's next reclaim deletes it with the rest.
func (c *Store) noteExit(id string, code int) {
	os.WriteFile(filepath.Join(c.Dir(id), exitNote), []byte(strconv.Itoa(code)), 0o600)
}

// trashedExit is the exit code noteExit left for container id.
func (c *Store) trashedExit(id string) (int, bool) {
	b, err := os.ReadFile(filepath.Join(c.trashEntry(id), exitNote))
	if err != nil {
		return 0, false
	}
	code, err := strconv.Atoi(string(b))
	return code, err == nil
}

const exitNote = "exit-code"
