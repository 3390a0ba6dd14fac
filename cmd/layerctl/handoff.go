package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/layerctl/layerctl/pkg/ns"
)

// A core binary carries the full program (this package built without the
// core tag) past its own ELF image, where the loader never maps it, so it
// costs the core's start nothing: the program's bytes, then a trailer line
// "\nlayerctl-full-program OFFSET SIZE\n" of fixed width, as `make build`
// writes it.
const fullMagic = "layerctl-full-program"

// trailerLen is the width of the trailer: two numbers of 20 digits.
var trailerLen = int64(len(fmt.Sprintf("\n%s %020d %020d\n", fullMagic, 0, 0)))

// fullProgram finds the full program in exe, a core binary's file: where it
// starts and how long it is.
func fullProgram(exe *os.File) (off, size int64, err error) {
	fi, err := exe.Stat()
	if err != nil {
		return 0, 0, err
	}
	if fi.Size() < trailerLen {
		return 0, 0, errors.New("no full program after the binary")
	}
	t := make([]byte, trailerLen)
	if _, err := exe.ReadAt(t, fi.Size()-trailerLen); err != nil {
		return 0, 0, err
	}
	f := bytes.Fields(t)
	if t[0] != '\n' || t[len(t)-1] != '\n' || len(f) != 3 || string(f[0]) != fullMagic {
		return 0, 0, errors.New("no full program after the binary")
	}
	off, err1 := strconv.ParseInt(string(f[1]), 10, 64)
	size, err2 := strconv.ParseInt(string(f[2]), 10, 64)
	if err1 != nil || err2 != nil || off <= 0 || size <= 0 || off+size != fi.Size()-trailerLen {
		return 0, 0, fmt.Errorf("a damaged trailer %q", bytes.TrimSpace(t))
	}
	elf := make([]byte, 4)
	if _, err := exe.ReadAt(elf, off); err != nil || string(elf) != "\x7fELF" {
		return 0, 0, fmt.Errorf("no program at byte %d", off)
	}
	return off, size, nil
}

// handOff runs the full program in this process's place, with the same
// arguments and environment: the core binary's way to build or show the
// TUI. It returns only on failure.
func handOff(what string) error {
	exe, err := os.Open("/proc/self/exe")
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer exe.Close()
	off, size, err := fullProgram(exe)
	if err != nil {
		return fmt.Errorf("%s: this layerctl binary lacks its full program (%v): make build appends it", what, err)
	}
	return fmt.Errorf("%s: %w", what, ns.ExecPart("layerctl", exe, off, size, os.Args, os.Environ()))
}
