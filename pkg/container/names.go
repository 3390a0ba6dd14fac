package container

import (
	"github.com/layerctl/layerctl/pkg/layer"
	"github.com/layerctl/layerctl/pkg/ns"
)

// The names a program needs beside the facade's methods, so that it need
// not import the packages under it.

// Error categories, checked with errors.Is.
var (
	ErrNotFound = layer.ErrNotFound // no such image, layer or container
	ErrInUse    = layer.ErrInUse    // an image a container uses
	ErrCorrupt  = layer.ErrCorrupt  // a layer that does not match its diffID or headers
)

// LayerMeta is a layer's record: chain ID, diffID, parent, size.
type LayerMeta = layer.Meta

// Volume is a bind mount into a container (RunConfig.Volumes).
type Volume = ns.Volume

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
