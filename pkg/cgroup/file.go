package cgroup

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// knob is one value written to one interface file of one controller's
// directory ("" for the only directory on v2).
type knob struct {
	controller, file, value string
	ifPresent               bool // the kernel may lack the file (e.g. no swap accounting): skip it then
	bestEffort              bool // any failure is ignored: the value is a preference, not a limit
}

// set performs a knob on the directory of its controller.
func (k knob) set(dir string) error {
	err := writeFile(dir, k.file, k.value)
	switch {
	case err == nil:
		return nil
	case k.bestEffort:
		return nil
	case k.ifPresent && errors.Is(err, fs.ErrNotExist):
		return nil
	}
	return err
}

// writeFile writes one value to a cgroup interface file in a single
// write(2), as the kernel parses each write on its own. It never creates
// the file: a cgroupfs file exists exactly when the kernel offers the knob.
func writeFile(dir, file, value string) error {
	p := filepath.Join(dir, file)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return fmt.Errorf("write %q to %s: %w", value, p, err)
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %q to %s: %w", value, p, err)
	}
	return nil
}

func readFile(dir, file string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", filepath.Join(dir, file), err)
	}
	return strings.TrimSpace(string(b)), nil
}

// readInt reads a file holding one integer; an absent file reads as 0, as
// statistics of a controller the cgroup is not in are simply unknown.
func readInt(dir, file string) (int64, error) {
	s, err := readFile(dir, file)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", filepath.Join(dir, file), err)
	}
	return n, nil
}

// readKeyed reads a flat keyed file ("key value" per line, as
// memory.events, cpu.stat, memory.oom_control); an absent file reads as
// empty. Lines whose value is not an integer are skipped.
func readKeyed(dir, file string) (map[string]int64, error) {
	s, err := readFile(dir, file)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]int64{}, nil
	}
	if err != nil {
		return nil, err
	}
	return parseKeyed(s), nil
}

func parseKeyed(s string) map[string]int64 {
	m := map[string]int64{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		if n, err := strconv.ParseInt(f[1], 10, 64); err == nil {
			m[f[0]] = n
		}
	}
	return m
}

// readPids reads a cgroup.procs file.
func readPids(dir string) ([]int, error) {
	s, err := readFile(dir, "cgroup.procs")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(s) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", filepath.Join(dir, "cgroup.procs"), err)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}
