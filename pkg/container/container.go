package container

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	digest "github.com/opencontainers/go-digest"

	"github.com/layerctl/layerctl/pkg/image"
	"github.com/layerctl/layerctl/pkg/layer"
	"github.com/layerctl/layerctl/pkg/union"
)

// State is a container's record, containers/<id>/state.json.
type State struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	Image      digest.Digest   `json:"image"`
	ImageName  string          `json:"imageName,omitempty"`
	ChainIDs   []digest.Digest `json:"chainIDs"`
	Hostname   string          `json:"hostname"`
	AddHosts   []string        `json:"addHosts,omitempty"`
	DNS        []string        `json:"dns,omitempty"`
	Driver     string          `json:"driver"`
	Created    time.Time       `json:"created"`
	MountCount int             `json:"mountCount"`

	Run      *RunConfig `json:"run,omitempty"`
	Pid      int        `json:"pid,omitempty"`      // host PID of the running process
	PidStart uint64     `json:"pidStart,omitempty"` // its start time, against PID reuse
	Started  time.Time  `json:"started,omitempty"`
	Finished time.Time  `json:"finished,omitempty"`
	ExitCode *int       `json:"exitCode,omitempty"`
	// FrozenBy are the processes holding the running container frozen,
	// recorded before they freeze it (see freeze).
	FrozenBy []Freezer `json:"frozenBy,omitempty"`
	// Paused is a pause by the user (pause): frozen until unpause,
	// whatever freezers come and go.
	Paused bool `json:"paused,omitempty"`
}

// Top is the chainID of the container's image top layer.
func (s State) Top() digest.Digest {
	if len(s.ChainIDs) == 0 {
		return ""
	}
	return s.ChainIDs[len(s.ChainIDs)-1]
}

// Status is what ps shows. A record's freezers are taken as live: ps
// settles the record first (Refresh).
func (s State) Status() string {
	switch {
	case s.Pid > 0 && (s.Paused || len(s.FrozenBy) > 0):
		return "paused"
	case s.Pid > 0:
		return "running"
	case s.ExitCode != nil:
		return fmt.Sprintf("exited (%d)", *s.ExitCode)
	case !s.Finished.IsZero():
		return "exited"
	case s.MountCount > 0:
		return "mounted"
	}
	return "created"
}

// Store is a store as a whole: its layers, images and containers (see
// Open).
type Store struct {
	layers   *layer.Store
	images   *image.Images
	driver   union.Driver
	features func() union.Features
	copies   heldMounts // containers mounted for a copy, see ReleaseCopies
}

// NewStore opens the containers of a store with its recorded driver, over
// layer and image stores the caller opened (Open opens all three).
func NewStore(ls *layer.Store, im *image.Images, features union.Features) (*Store, error) {
	d, err := union.New(ls.Settings().Driver, features)
	if err != nil {
		return nil, err
	}
	return newStore(ls, im, d, func() union.Features { return features })
}

func newStore(ls *layer.Store, im *image.Images, d union.Driver, features func() union.Features) (*Store, error) {
	if err := os.MkdirAll(ls.Paths().Containers(), 0o700); err != nil {
		return nil, fmt.Errorf("open containers: %w", err)
	}
	return &Store{layers: ls, images: im, driver: d, features: features}, nil
}

// lazyDriver is a store's union driver made at its first use, with the
// kernel's features detected then: the commands that list never mount,
// and the detection (/proc/filesystems, overlay's parameters) cost each
// of their starts 0.2 ms. A driver the kernel lacks says so at the first
// mount.
type lazyDriver struct {
	name string
	get  func() (union.Driver, error)
}

func newLazyDriver(name string, features func() union.Features) lazyDriver {
	return lazyDriver{name: name, get: sync.OnceValues(func() (union.Driver, error) { return union.New(name, features()) })}
}

func (d lazyDriver) Name() string { return d.name }

// MaxLayers is the driver's; no limit for a driver the kernel lacks, so
// that nothing is flattened before its Describe fails.
func (d lazyDriver) MaxLayers() int {
	drv, err := d.get()
	if err != nil {
		return math.MaxInt
	}
	return drv.MaxLayers()
}

func (d lazyDriver) Describe(b union.Branches) (union.Mount, error) {
	drv, err := d.get()
	if err != nil {
		return union.Mount{}, err
	}
	return drv.Describe(b)
}

// Dir is a container's directory; the only place that makes one.
func (c *Store) Dir(id string) string { return c.layers.Paths().Container(id) }

// part is one part of a container's directory (layer.ContainerRW, ...).
func (c *Store) part(id, name string) string { return c.layers.Paths().ContainerPart(id, name) }

func (c *Store) statePath(id string) string { return c.part(id, layer.ContainerState) }

// MergedDir is where a container's rootfs is mounted (or, with vfs, copied).
func (c *Store) MergedDir(id string) string { return c.part(id, layer.ContainerMerged) }

func (c *Store) locked(fn func() error) error { return c.layers.Locked("containers", fn) }

// Get reads one container by full ID.
func (c *Store) Get(id string) (State, error) {
	var s State
	data, err := os.ReadFile(c.statePath(id))
	if errors.Is(err, fs.ErrNotExist) {
		return s, fmt.Errorf("container %s: %w", id, ErrContainerNotFound)
	}
	if err != nil {
		return s, err
	}
	return s, json.Unmarshal(data, &s)
}

func (c *Store) put(s State) error {
	data, _ := json.MarshalIndent(s, "", "  ")
	return layer.WriteFileAtomic(c.statePath(s.ID), data)
}

// List returns every container, newest first.
func (c *Store) List() ([]State, error) {
	entries, err := os.ReadDir(c.layers.Paths().Containers())
	if err != nil {
		return nil, err
	}
	var out []State
	for _, e := range entries {
		if s, err := c.Get(e.Name()); err == nil {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, nil
}

// Resolve finds a container by full ID, unique ID prefix or name.
func (c *Store) Resolve(ref string) (State, error) {
	// A full ID, as every step of run passes, is read alone: listing the
	// store reads every container's record.
	if isFullID(ref) {
		if s, err := c.Get(ref); err == nil {
			return s, nil
		}
	}
	all, err := c.List()
	if err != nil {
		return State{}, err
	}
	var found []State
	for _, s := range all {
		if s.ID == ref || s.Name == ref {
			return s, nil
		}
		if ref != "" && strings.HasPrefix(s.ID, ref) {
			found = append(found, s)
		}
	}
	switch len(found) {
	case 0:
		return State{}, fmt.Errorf("container %s: %w", ref, ErrContainerNotFound)
	case 1:
		return found[0], nil
	}
	return State{}, fmt.Errorf("container ID prefix %s is ambiguous (%d containers)", ref, len(found))
}

// UsedImages lists the image IDs and top layers containers hold.
func (c *Store) UsedImages() (map[digest.Digest]bool, []digest.Digest, error) {
	all, err := c.List()
	if err != nil {
		return nil, nil, err
	}
	ids := map[digest.Digest]bool{}
	var tops []digest.Digest
	for _, s := range all {
		ids[s.Image] = true
		if t := s.Top(); t != "" {
			tops = append(tops, t)
		}
	}
	return ids, tops, nil
}

func newID() string {
	var b [32]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// isFullID tells a whole container ID (newID's 64 hex digits), which names
// a record path without a directory walk.
func isFullID(ref string) bool {
	if len(ref) != 64 {
		return false
	}
	for _, r := range ref {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') {
			return false
		}
	}
	return true
}
