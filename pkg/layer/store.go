package layer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/whiteout"
)

// Settings are fixed when a store is created and recorded in store.json.
type Settings struct {
	Driver   string          `json:"driver"`
	Whiteout whiteout.Format `json:"whiteout"`
}

// OpenOptions says which driver the caller wants.
type OpenOptions struct {
	// Driver is an explicit choice; it must match a recorded one.
	Driver string
	// Default is asked for the settings of a new store when Driver is empty.
	Default func() (Settings, error)
	// FormatFor gives the whiteout form of an explicitly chosen driver.
	FormatFor func(driver string) (whiteout.Format, error)
	// NoHold takes the store's shared lock only around short local steps
	// (Shared), not for as long as the store is open, so that gc and rmi
	// need not wait for this Store. A pull, which may wait long on a
	// registry, opens the store so.
	NoHold bool
	// Check refuses settings the store's filesystem cannot hold (overlay
	// without d_type). It runs before a new store records its settings, so
	// a refused store is never recorded, and on every later open.
	Check func(root string, s Settings) error
}

// Store is an open layer store. It holds a shared lock on the store for its
// lifetime (unless opened with NoHold), so that gc, which takes it
// exclusively, never runs beside another command.
type Store struct {
	root     string
	paths    Paths
	settings Settings
	conv     whiteout.Converter
	lock     *os.File
	held     bool // the shared lock is held while the Store is open
	syncs    *groupSync
	staged   sync.Map // staging dir -> func() that unlocks it
}

// Open opens or creates the store at root. When no other process has the
// store open, leftovers of interrupted runs in tmp/ are removed.
func Open(root string, opts OpenOptions) (*Store, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	paths := NewPaths(root)
	for _, d := range []string{root, paths.Blobs(), paths.Layers(), paths.Tmp(), paths.Locks()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("create store %s: %w", root, err)
		}
	}
	spreadSubdirs(paths.Tmp())
	lock, err := os.OpenFile(paths.StoreLock(), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open store lock: %w", err)
	}
	s := &Store{root: root, paths: paths, lock: lock, held: !opts.NoHold, syncs: newGroupSync()}
	if unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil {
		s.cleanTmp()
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_SH); err != nil {
		lock.Close()
		return nil, fmt.Errorf("lock store: %w", err)
	}
	if err := s.loadSettings(opts); err != nil {
		s.Close()
		return nil, err
	}
	if !s.held {
		if err := unix.Flock(int(lock.Fd()), unix.LOCK_UN); err != nil {
			s.Close()
			return nil, fmt.Errorf("unlock store: %w", err)
		}
	}
	return s, nil
}

func (s *Store) loadSettings(opts OpenOptions) error {
	path := s.paths.Settings()
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(data, &s.settings); err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
		if opts.Driver != "" && opts.Driver != s.settings.Driver {
			return fmt.Errorf("store %s was created with driver %s, not %s", s.root, s.settings.Driver, opts.Driver)
		}
		if err := s.checkSettings(opts); err != nil {
			return err
		}
	case errors.Is(err, fs.ErrNotExist):
		if opts.Driver != "" {
			if opts.FormatFor == nil {
				return fmt.Errorf("no whiteout format known for driver %s", opts.Driver)
			}
			f, err := opts.FormatFor(opts.Driver)
			if err != nil {
				return err
			}
			s.settings = Settings{Driver: opts.Driver, Whiteout: f}
		} else {
			if opts.Default == nil {
				return fmt.Errorf("store %s has no driver recorded", s.root)
			}
			if s.settings, err = opts.Default(); err != nil {
				return err
			}
		}
		if err := s.checkSettings(opts); err != nil {
			return err
		}
		data, _ := json.MarshalIndent(s.settings, "", "  ")
		if err := s.writeFileAtomic(path, data); err != nil {
			return err
		}
	default:
		return fmt.Errorf("read %s: %w", path, err)
	}
	s.conv, err = whiteout.ForFormat(s.settings.Whiteout)
	return err
}

func (s *Store) checkSettings(opts OpenOptions) error {
	if opts.Check == nil {
		return nil
	}
	return opts.Check(s.root, s.settings)
}

// Close releases the store.
func (s *Store) Close() error { return s.lock.Close() }

// Root is the store directory.
func (s *Store) Root() string { return s.root }

// Settings are the driver and whiteout form recorded for this store.
func (s *Store) Settings() Settings { return s.settings }

// Converter is the whiteout converter of the store's recorded form.
func (s *Store) Converter() whiteout.Converter { return s.conv }

// Exclusive runs fn while no other process has the store open, or is
// inside Shared (gc, rmi of layers). The shared lock, if held, is restored
// afterwards.
func (s *Store) Exclusive(fn func() error) error {
	if err := unix.Flock(int(s.lock.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("lock store: %w", err)
	}
	if s.held {
		defer unix.Flock(int(s.lock.Fd()), unix.LOCK_SH)
	} else {
		defer unix.Flock(int(s.lock.Fd()), unix.LOCK_UN)
	}
	s.cleanTmp()
	return fn()
}

// Shared runs fn holding the store's shared lock: never beside gc. A Store
// opened with NoHold takes it just for fn, through a descriptor of its own
// (a flock belongs to the open file, and goroutines of one Store may be
// inside Shared at once); fn must be short local work.
func (s *Store) Shared(fn func() error) error {
	if s.held {
		return fn()
	}
	f, err := os.OpenFile(s.paths.StoreLock(), os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("open store lock: %w", err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH); err != nil {
		return fmt.Errorf("lock store: %w", err)
	}
	return fn()
}

// Locked runs fn holding the named exclusive file lock under locks/. Names
// are the store's own (a chainID hex, "images").
func (s *Store) Locked(name string, fn func() error) error {
	f, err := os.OpenFile(s.paths.Lock(name), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open lock %s: %w", name, err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", name, err)
	}
	return fn()
}

// fsTopDirFlag is FS_TOPDIR_FL (linux/fs.h, chattr +T).
const fsTopDirFlag = 0x00020000

// spreadSubdirs marks dir as the top of directory hierarchies, so that
// ext4 places each directory made in it as it places top-level ones: in a
// block group with free inodes and few directories. A layer is built in a
// directory of tmp/; without the mark it lands in the group of the last
// one, and where thousands of files were just deleted ext4 walks past each
// of their inodes (recently_deleted) to make every new file: a 5,000-file
// COPY took 1.5 to 2.5 s in its writes instead of 0.2 to 0.3. Best effort:
// other filesystems may refuse or ignore the flag.
func spreadSubdirs(dir string) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	flags, err := unix.IoctlGetInt(fd, unix.FS_IOC_GETFLAGS)
	if err == nil && flags&fsTopDirFlag == 0 {
		unix.IoctlSetPointerInt(fd, unix.FS_IOC_SETFLAGS, flags|fsTopDirFlag)
	}
}

// cleanTmp removes what interrupted runs left in tmp/: everything but the
// staging dirs a live process holds locked.
func (s *Store) cleanTmp() {
	entries, _ := os.ReadDir(s.paths.Tmp())
	for _, e := range entries {
		path := filepath.Join(s.paths.Tmp(), e.Name())
		if !lockedElsewhere(path) {
			os.RemoveAll(path)
		}
	}
}

// lockedElsewhere reports whether another open file holds a flock on path.
func lockedElsewhere(path string) bool {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	return unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) == unix.EWOULDBLOCK
}

// stagingDir makes a directory under tmp/ that gc leaves alone until
// unstage: it is made beside no gc and locked before gc can see it.
func (s *Store) stagingDir(prefix string) (dir string, err error) {
	err = s.Shared(func() error {
		if dir, err = s.TempDir(prefix); err != nil {
			return err
		}
		fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err == nil {
			if err = unix.Flock(fd, unix.LOCK_EX); err != nil {
				unix.Close(fd)
			}
		}
		if err != nil {
			os.Remove(dir)
			return fmt.Errorf("lock %s: %w", dir, err)
		}
		s.staged.Store(dir, func() { unix.Close(fd) })
		return nil
	})
	return dir, err
}

// unstage removes a staging dir (unless it was published, renamed away)
// and then unlocks it.
func (s *Store) unstage(dir string) {
	os.RemoveAll(dir)
	if unlock, ok := s.staged.LoadAndDelete(dir); ok {
		unlock.(func())()
	}
}

// lockedContext is Locked, giving up the wait when ctx is done (another
// pull may be extracting the layer from a slow registry).
func (s *Store) lockedContext(ctx context.Context, name string, fn func() error) error {
	f, err := os.OpenFile(s.paths.Lock(name), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open lock %s: %w", name, err)
	}
	locked := make(chan error, 1)
	go func() { locked <- unix.Flock(int(f.Fd()), unix.LOCK_EX) }()
	select {
	case err := <-locked:
		defer f.Close()
		if err != nil {
			return fmt.Errorf("lock %s: %w", name, err)
		}
		return fn()
	case <-ctx.Done():
		// The flock goes on in its goroutine; the lock is let go as soon
		// as it is had.
		go func() { <-locked; f.Close() }()
		return ctx.Err()
	}
}

// TempDir makes a fresh directory under tmp/ for building something that is
// later renamed into place.
func (s *Store) TempDir(prefix string) (string, error) {
	var b [8]byte
	rand.Read(b[:])
	dir := filepath.Join(s.paths.Tmp(), prefix+hex.EncodeToString(b[:]))
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", err
	}
	return dir, nil
}

// writeFileAtomic writes data to a temp file beside path, syncs it and
// renames it over path.
func (s *Store) writeFileAtomic(path string, data []byte) error {
	return WriteFileAtomic(path, data)
}

// WriteFileAtomic writes data to path through a synced temp file and a
// rename, so a reader sees the old content or the new, never a part.
func WriteFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Paths lays the store out; only its methods turn an ID into a path.
func (s *Store) Paths() Paths { return s.paths }

// DiffDir is the directory holding a layer's files.
func (s *Store) DiffDir(chainID digest.Digest) string { return s.paths.Diff(chainID) }
