package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/layer"
	"github.com/layerctl/layerctl/pkg/union"
)

func mustJSON(v any) []byte {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic(err) // only our own plain structs are marshalled
	}
	return data
}

// attrs of a directory root.
type attrs struct {
	mode     uint32
	uid, gid int
	mtime    unix.Timespec
	set      bool
}

func (a attrs) apply(dir string) error {
	if !a.set {
		return nil
	}
	if err := os.Lchown(dir, a.uid, a.gid); err != nil {
		return err
	}
	if err := unix.Chmod(dir, a.mode&0o7777); err != nil {
		return err
	}
	return unix.UtimesNano(dir, []unix.Timespec{a.mtime, a.mtime})
}

// rootAttrs reads the root attributes of the top-most layer whose tar had a
// "./" entry.
func (c *Store) rootAttrs(chain []digest.Digest) (attrs, error) {
	for i := len(chain) - 1; i >= 0; i-- {
		m, err := c.layers.Get(chain[i])
		if err != nil {
			return attrs{}, err
		}
		if !m.Root {
			continue
		}
		var st unix.Stat_t
		if err := unix.Lstat(c.layers.DiffDir(chain[i]), &st); err != nil {
			return attrs{}, err
		}
		return attrs{mode: st.Mode, uid: int(st.Uid), gid: int(st.Gid), mtime: st.Mtim, set: true}, nil
	}
	return attrs{}, nil
}

// Branches lists a container's branches for its driver: rw, init, then the
// image's layers top first (the bottom ones flattened into one when the image
// is deeper than the driver stacks).
func (c *Store) Branches(s State) (union.Branches, error) {
	lower, err := c.lowerDirs(s)
	if err != nil {
		return union.Branches{}, err
	}
	return union.Branches{
		Lower:     lower,
		Init:      c.part(s.ID, layer.ContainerInit),
		Upper:     c.part(s.ID, layer.ContainerRW),
		Work:      c.part(s.ID, layer.ContainerWork),
		Throwaway: s.Run != nil && s.Run.Remove,
	}, nil
}

// Describe is the mount a container's rootfs needs.
func (c *Store) Describe(s State) (union.Mount, error) {
	b, err := c.Branches(s)
	if err != nil {
		return union.Mount{}, err
	}
	return c.driver.Describe(b)
}

// Mount mounts a container's rootfs (or counts one more user of a mounted
// one) and returns its path.
func (c *Store) Mount(ref string) (string, error) {
	var path string
	err := c.locked(func() error {
		s, err := c.Resolve(ref)
		if err != nil {
			return err
		}
		var fresh bool
		if path, fresh, err = c.mountLocked(s); err != nil {
			return err
		}
		s.MountCount = countAfterMount(s.MountCount, fresh)
		if err := c.put(s); err != nil {
			if fresh {
				union.Unmount(path)
			}
			return err
		}
		return nil
	})
	return path, err
}

// mountLocked mounts a container's rootfs unless it is mounted already
// (fresh says it was not). A mount left with no count (a crash between
// mount and record) is reused, never stacked over. The caller records the
// count (countAfterMount).
func (c *Store) mountLocked(s State) (path string, fresh bool, err error) {
	path = c.MergedDir(s.ID)
	if union.Mounted(path) {
		return path, false, nil
	}
	m, err := c.Describe(s)
	if err != nil {
		return "", false, err
	}
	if err := union.Perform(m, path); err != nil {
		return "", false, err
	}
	return path, true, nil
}

// countAfterMount is the mount count once one more user holds the rootfs.
func countAfterMount(count int, fresh bool) int {
	if fresh {
		return 1
	}
	return count + 1
}

// Umount drops one user of a container's rootfs and unmounts it when none is
// left; force unmounts whatever the count.
func (c *Store) Umount(ref string, force bool) error {
	return c.locked(func() error {
		s, err := c.Resolve(ref)
		if err != nil {
			return err
		}
		return c.umountLocked(s, force)
	})
}

func (c *Store) umountLocked(s State, force bool) error {
	if s.MountCount > 1 && !force {
		s.MountCount--
		return c.put(s)
	}
	if err := union.Unmount(c.MergedDir(s.ID)); err != nil {
		return err
	}
	if s.MountCount == 0 {
		return nil
	}
	s.MountCount = 0
	return c.put(s)
}

// Remove deletes a container: its mount (only with force when mounted), its
// layers and its record. The image's layers stay.
func (c *Store) Remove(ref string, force bool) (State, error) {
	s, err := c.Resolve(ref)
	if err != nil {
		return s, err
	}
	if c.alive(s) {
		if !force {
			return s, fmt.Errorf("container %s is running: %w (stop it or use -f)", s.Name, ErrContainerInUse)
		}
		if _, err := c.stop(s, 0); err != nil {
			return s, err
		}
		// A --rm container is gone once stopped: nothing more to remove.
		if _, err := c.Get(s.ID); errors.Is(err, ErrContainerNotFound) {
			return s, nil
		}
	}
	if err := removeCgroup(s.ID, force); err != nil {
		return s, err
	}
	err = c.locked(func() error {
		var err error
		if s, err = c.Resolve(ref); err != nil {
			return err
		}
		if (s.MountCount > 0 || union.Mounted(c.MergedDir(s.ID))) && !force {
			return fmt.Errorf("container %s is mounted: %w (umount it or use -f)", s.Name, ErrContainerInUse)
		}
		// No record update: the record goes with the container.
		if err := union.Unmount(c.MergedDir(s.ID)); err != nil {
			return err
		}
		// Into the trash first, so a crash never leaves half a container.
		return c.toTrash(s.ID)
	})
	if err == nil {
		removeTrashEntry(c.trashEntry(s.ID))
	}
	return s, err
}

// Info is what inspect shows of a container.
type Info struct {
	State
	Status string `json:"status"`
	Rootfs string `json:"rootfs"`
	// Branches are the rootfs's branches, top first, with aufs's roles:
	// "PATH=rw", "PATH=ro+wh" (a layer that may carry whiteouts), "PATH=ro".
	Branches []string `json:"branches"`
	Mount    string   `json:"mount,omitempty"` // the mount as performed, when mounted
}

// Inspect describes a container. It changes nothing, except that it thaws
// a container that a dead commit left frozen, which it would misreport.
func (c *Store) Inspect(ref string) (Info, error) {
	s, err := c.Resolve(ref)
	if err != nil {
		return Info{}, err
	}
	if s, err = c.settleFreeze(s); err != nil {
		return Info{}, err
	}
	info := Info{State: s, Status: s.Status(), Rootfs: c.MergedDir(s.ID)}
	info.Branches = append(info.Branches, c.part(s.ID, layer.ContainerRW)+"=rw")
	if union.Copies(c.driver) {
		return info, nil // the rw dir is the whole rootfs
	}
	info.Branches = append(info.Branches, c.part(s.ID, layer.ContainerInit)+"=ro+wh")
	n := c.splitForDriver(len(s.ChainIDs))
	for i := len(s.ChainIDs) - 1; i >= n; i-- {
		info.Branches = append(info.Branches, c.layers.DiffDir(s.ChainIDs[i])+"=ro+wh")
	}
	if n > 0 {
		info.Branches = append(info.Branches, c.flatDir(s.ChainIDs[n-1])+"=ro")
	}
	if union.Mounted(info.Rootfs) {
		if m, err := c.Describe(s); err == nil {
			info.Mount = m.String()
		}
	}
	return info, nil
}
