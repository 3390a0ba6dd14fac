package container

import (
	"github.com/layerctl/layerctl/pkg/image"
	"github.com/layerctl/layerctl/pkg/layer"
	"github.com/layerctl/layerctl/pkg/ns"
)

// The names a program needs beside the facade's methods, so that it need
// not import the packages under it.

// Errors, checked with errors.Is. ErrNotFound, ErrExists and ErrInUse are
// categories: each kind's own sentinel below matches its category.
var (
	ErrNotFound = layer.ErrAnyNotFound // no such image, layer or container
	ErrExists   = layer.ErrAnyExists   // a name already taken
	ErrInUse    = layer.ErrAnyInUse    // an image or container still in use
	ErrCorrupt  = layer.ErrCorrupt     // a layer that does not match its diffID or headers

	ErrLayerNotFound     = layer.ErrNotFound
	ErrImageNotFound     = image.ErrNotFound
	ErrImageInUse        = image.ErrInUse // an image a container uses
	ErrContainerNotFound = layer.KindError(layer.ErrAnyNotFound)
	ErrContainerExists   = layer.KindError(layer.ErrAnyExists)
	ErrContainerInUse    = layer.KindError(layer.ErrAnyInUse) // running, mounted or with processes
)

// LayerMeta is a layer's record: chain ID, diffID, parent, size.
type LayerMeta = layer.Meta

// Volume is a bind mount into a container (RunConfig.Volumes).
type Volume = ns.Volume

// Rlimit is a resource limit of a container's processes (RunConfig.Ulimits).
type Rlimit = ns.Rlimit

// ParseUlimit reads docker run's --ulimit NAME=SOFT[:HARD].
func ParseUlimit(s string) (Rlimit, error) { return ns.ParseRlimit(s) }

// Tmpfs is a new tmpfs in a container (RunConfig.Tmpfs).
type Tmpfs = ns.Tmpfs

// ParseTmpfs reads docker run's --tmpfs PATH[:OPTIONS].
func ParseTmpfs(s string) (Tmpfs, error) { return ns.ParseTmpfs(s) }

// CheckCapabilities checks docker run's --cap-add and --cap-drop names
// (RunConfig.CapAdd and CapDrop).
func CheckCapabilities(add, drop []string) error {
	_, err := ns.Capabilities(add, drop)
	return err
}

// Seccomp is a container's seccomp filter (RunConfig.Seccomp): Docker's
// default profile when zero.
type Seccomp = ns.Seccomp

// LoadSeccompProfile reads a seccomp profile in Docker's JSON format.
func LoadSeccompProfile(data []byte) (Seccomp, error) { return ns.LoadSeccompProfile(data) }

// Networks a container can have (RunConfig.Net).
const (
	NetNone = ns.NetNone // its own network namespace, lo only
	NetHost = ns.NetHost // the host's
)

// StartError is a container process that could not be started; its
// ExitCode is Docker's: CodeSetup, 126 when the command cannot run, 127
// when it is not found.
type StartError = ns.StartError

// CodeSetup is the exit code of a container that could not be set up.
const CodeSetup = ns.CodeSetup
