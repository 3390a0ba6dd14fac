package cgroup

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Mode is the cgroup layout of the machine.
type Mode int

const (
	// V1: one hierarchy per controller, each mounted at root/CONTROLLER.
	V1 Mode = 1
	// V2: the unified hierarchy mounted at root.
	V2 Mode = 2
)

func (m Mode) String() string {
	switch m {
	case V1:
		return "v1"
	case V2:
		return "v2"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// DefaultRoot is where the cgroup filesystems are mounted.
const DefaultRoot = "/sys/fs/cgroup"

// v1Controllers are the v1 hierarchies a container gets a directory in,
// when mounted. cpuset is left out on purpose: a new cpuset cgroup starts
// with no CPUs and no memory nodes, and joining it fails until they are set.
var v1Controllers = []string{"cpu", "cpuacct", "memory", "pids", "freezer"}

// Detect tells which cgroup layout the machine has under the root.
//
// A cgroup2 root always has cgroup.controllers; the tmpfs that holds v1
// mounts never does, even when a cgroup2 is mounted below it at unified/
// (the "hybrid" layout), so that layout is V1. Files, rather than
// filesystem magic numbers, decide, so that a test can imitate a tree.
func Detect(opts ...Option) (Mode, error) {
	return detect(makeOptions(opts).root)
}

func detect(root string) (Mode, error) {
	if exists(filepath.Join(root, "cgroup.controllers")) {
		return V2, nil
	}
	if len(mountedV1(root)) > 0 {
		return V1, nil
	}
	return 0, fmt.Errorf("detect cgroups under %s: no cgroup2 root (cgroup.controllers) and no v1 hierarchy (%s) mounted: %w",
		root, strings.Join(v1Controllers, ", "), ErrUnsupported)
}

// Layout names the layout Detect sees, for people: "v2", "v1", "hybrid"
// (v1 hierarchies, which containers use, beside a cgroup2 at unified/) or
// "none". One set of rules, so what info says is what a container gets.
func Layout(opts ...Option) string {
	root := makeOptions(opts).root
	mode, err := detect(root)
	switch {
	case err != nil:
		return "none"
	case mode == V1 && exists(filepath.Join(root, "unified", "cgroup.controllers")):
		return "hybrid"
	}
	return mode.String()
}

// mountedV1 lists the v1 controllers whose hierarchy is mounted under root.
func mountedV1(root string) []string {
	var out []string
	for _, c := range v1Controllers {
		if exists(filepath.Join(root, c, "cgroup.procs")) {
			out = append(out, c)
		}
	}
	return out
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
