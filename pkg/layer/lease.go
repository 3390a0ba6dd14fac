package layer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

// A Lease keeps layers from gc while a pull that needs them runs without the
// store's shared lock: the layers it found in the store and those it
// publishes before its image record exists. It is a file under leases/
// naming the chainIDs, flocked while its process lives; gc keeps the layers
// of every locked lease and removes the lease files of dead processes.
type Lease struct {
	f *os.File
}

// Lease takes a lease on chainIDs (with their parents). It waits for a gc
// that is running, and every gc after it sees the lease.
func (s *Store) Lease(chainIDs []digest.Digest) (*Lease, error) {
	data, err := json.Marshal(chainIDs)
	if err != nil {
		return nil, err
	}
	var l *Lease
	err = s.Shared(func() error {
		dir := s.paths.Leases()
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		f, err := os.CreateTemp(dir, "lease-")
		if err != nil {
			return err
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
			f.Close()
			os.Remove(f.Name())
			return err
		}
		// Not synced: a lease matters only while its process lives.
		if _, err := f.Write(data); err != nil {
			f.Close()
			os.Remove(f.Name())
			return err
		}
		l = &Lease{f: f}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("lease layers: %w", err)
	}
	return l, nil
}

// Release ends the lease.
func (l *Lease) Release() {
	os.Remove(l.f.Name())
	l.f.Close()
}

// leased lists the chainIDs of every live lease and removes the leases of
// processes that are gone. Callers hold the store exclusively.
func (s *Store) leased() ([]digest.Digest, error) {
	dir := s.paths.Leases()
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read leases: %w", err)
	}
	var ids []digest.Digest
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		if !lockedElsewhere(path) {
			os.Remove(path)
			continue
		}
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // released meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("read lease: %w", err)
		}
		var leased []digest.Digest
		if err := json.Unmarshal(data, &leased); err != nil {
			return nil, fmt.Errorf("read lease %s: %w", e.Name(), err)
		}
		ids = append(ids, leased...)
	}
	return ids, nil
}
