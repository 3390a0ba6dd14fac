package container

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Named volumes live in the store, volumes/NAME/_data, as Docker keeps
// them: a container mounts _data; the volume outlives the containers that
// use it, and rm refuses one that a container (in any state) names.

// ErrVolumeInUse marks a volume that a container names.
var ErrVolumeInUse = errors.New("in use")

// validVolumeName is Docker's: two characters at least.
var validVolumeName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`) })

// IsVolumeName tells whether a --volume source names a volume rather than
// a host path.
func IsVolumeName(s string) bool { return validVolumeName().MatchString(s) }

// VolumeInfo describes a named volume.
type VolumeInfo struct {
	Name       string    `json:"Name"`
	Driver     string    `json:"Driver"`
	Mountpoint string    `json:"Mountpoint"`
	CreatedAt  time.Time `json:"CreatedAt"`
	Scope      string    `json:"Scope"`
}

func (c *Store) volumeDir(name string) string { return filepath.Join(c.layers.Paths().Volumes(), name) }

func (c *Store) volumeInfo(name string) (VolumeInfo, error) {
	fi, err := os.Stat(c.volumeDir(name))
	if errors.Is(err, fs.ErrNotExist) {
		return VolumeInfo{}, fmt.Errorf("volume %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return VolumeInfo{}, err
	}
	return VolumeInfo{Name: name, Driver: "local", Mountpoint: filepath.Join(c.volumeDir(name), "_data"),
		CreatedAt: fi.ModTime().UTC(), Scope: "local"}, nil
}

// CreateVolume makes a volume, or finds the one of that name (as docker
// volume create); "" makes one with a new random name.
func (c *Store) CreateVolume(name string) (v VolumeInfo, created bool, err error) {
	if name == "" {
		name = newID()
	}
	if !IsVolumeName(name) {
		return VolumeInfo{}, false, fmt.Errorf("invalid volume name %q: two characters or more of letters, digits, '_', '.' and '-'", name)
	}
	err = c.locked(func() error {
		if _, err := os.Stat(c.volumeDir(name)); err == nil {
			return nil
		}
		if err := os.MkdirAll(c.layers.Paths().Volumes(), 0o700); err != nil {
			return err
		}
		// Made whole in tmp/, then renamed in: a crash leaves no half volume.
		tmp, err := c.layers.TempDir("volume-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		if err := os.Mkdir(filepath.Join(tmp, "_data"), 0o755); err != nil {
			return err
		}
		if err := os.Chmod(tmp, 0o700); err != nil {
			return err
		}
		created = true
		return os.Rename(tmp, c.volumeDir(name))
	})
	if err != nil {
		return VolumeInfo{}, false, fmt.Errorf("create volume %s: %w", name, err)
	}
	v, err = c.volumeInfo(name)
	return v, created, err
}

// Volume describes a volume.
func (c *Store) Volume(name string) (VolumeInfo, error) { return c.volumeInfo(name) }

// ListVolumes lists the volumes, by name.
func (c *Store) ListVolumes() ([]VolumeInfo, error) {
	entries, err := os.ReadDir(c.layers.Paths().Volumes())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []VolumeInfo
	for _, e := range entries {
		if v, err := c.volumeInfo(e.Name()); err == nil && e.IsDir() {
			out = append(out, v)
		}
	}
	return out, nil
}

// RemoveVolume deletes a volume and its data, unless a container names it.
func (c *Store) RemoveVolume(name string) error {
	return c.locked(func() error {
		if _, err := c.volumeInfo(name); err != nil {
			return err
		}
		if users, err := c.volumeUsers(); err != nil {
			return err
		} else if id, ok := users[name]; ok {
			return fmt.Errorf("volume %s: %w by container %s", name, ErrVolumeInUse, id[:12])
		}
		return c.dropVolume(name)
	})
}

// PruneVolumes removes the volumes no container names: those made without
// a name (64 hex digits), or every one with all (docker volume prune -a).
func (c *Store) PruneVolumes(all bool) (removed []string, freed int64, err error) {
	err = c.locked(func() error {
		vols, err := c.ListVolumes()
		if err != nil {
			return err
		}
		users, err := c.volumeUsers()
		if err != nil {
			return err
		}
		for _, v := range vols {
			if _, used := users[v.Name]; used || !all && !isFullID(v.Name) {
				continue
			}
			size := treeSize(v.Mountpoint)
			if err := c.dropVolume(v.Name); err != nil {
				return err
			}
			removed, freed = append(removed, v.Name), freed+size
		}
		return nil
	})
	return removed, freed, err
}

// dropVolume moves a volume into tmp/ (gone at once for the listing) and
// deletes it there.
func (c *Store) dropVolume(name string) error {
	tmp, err := c.layers.TempDir("volume-rm-")
	if err != nil {
		return err
	}
	gone := filepath.Join(tmp, "v")
	if err := os.Rename(c.volumeDir(name), gone); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	return os.RemoveAll(tmp)
}

// volumeUsers maps each volume a container names to one such container.
func (c *Store) volumeUsers() (map[string]string, error) {
	states, err := c.List()
	if err != nil {
		return nil, err
	}
	users := map[string]string{}
	for _, s := range states {
		if s.Run == nil {
			continue
		}
		for _, v := range s.Run.Volumes {
			if v.Name != "" {
				users[v.Name] = s.ID
			}
		}
	}
	return users, nil
}

// attachVolumes points a new container's named volumes at their data,
// making the volumes that do not exist yet. It returns the volumes that
// are empty: the container's image fills them (fillVolumes).
func (c *Store) attachVolumes(rc *RunConfig) (empty []Volume, err error) {
	if rc == nil {
		return nil, nil
	}
	for i, v := range rc.Volumes {
		if v.Name == "" {
			continue
		}
		info, _, err := c.CreateVolume(v.Name)
		if err != nil {
			return nil, err
		}
		rc.Volumes[i].Source = info.Mountpoint
		if entries, err := os.ReadDir(info.Mountpoint); err == nil && len(entries) == 0 {
			empty = append(empty, rc.Volumes[i])
		}
	}
	return empty, nil
}

// fillVolumes copies what the container's image has at each empty
// volume's target into it, owner and mode of the directory too, as Docker
// does when a new volume is first mounted. A target the image lacks leaves
// the volume empty.
func (c *Store) fillVolumes(id string, empty []Volume) error {
	for _, v := range empty {
		var st unix.Stat_t
		err := c.withRoot(id, func(root int) error {
			fd, err := openInRoot(root, v.Target, true)
			if err != nil {
				return err
			}
			defer unix.Close(fd)
			return unix.Fstat(fd, &st)
		})
		if errors.Is(err, fs.ErrNotExist) || err == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR {
			continue
		}
		if err != nil {
			return fmt.Errorf("volume %s: %w", v.Name, err)
		}
		if err := c.Copy(id, false, v.Target+"/.", v.Source, CopyOptions{Archive: true}); err != nil {
			return fmt.Errorf("volume %s: fill from %s: %w", v.Name, v.Target, err)
		}
		if err := os.Lchown(v.Source, int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
		if err := os.Chmod(v.Source, fs.FileMode(st.Mode&0o777)); err != nil {
			return err
		}
	}
	return nil
}
