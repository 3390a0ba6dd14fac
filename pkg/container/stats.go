package container

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/layerctl/layerctl/pkg/cgroup"
)

// ContainerStats is what a running container uses, read at one moment
// (docker stats takes two readings for CPU %).
type ContainerStats struct {
	ID, Name    string
	Read        time.Time
	CPU         time.Duration // CPU time its processes used, ever
	Memory      int64         // bytes charged to its cgroup now, page cache included
	MemoryLimit int64         // its --memory, else the host's memory
	NetRx       int64         // bytes in through its interfaces but lo (0 on the host's network)
	NetTx       int64
	PIDs        int64
}

// Stats reads a running container's use of CPU, memory, network and PIDs
// from its cgroup and its network namespace.
func (c *Store) Stats(ref string) (ContainerStats, error) {
	s, err := c.running(ref)
	if err != nil {
		return ContainerStats{}, err
	}
	cg, err := cgroup.Open(s.ID)
	if err != nil {
		return ContainerStats{}, fmt.Errorf("container %s: its cgroup: %w", s.Name, err)
	}
	st := ContainerStats{ID: s.ID, Name: s.Name, Read: time.Now()}
	cs, err := cg.Stats()
	if err != nil {
		return st, fmt.Errorf("container %s: %w", s.Name, err)
	}
	st.CPU, st.Memory, st.PIDs = cs.CPUUsage, cs.MemoryUsage, cs.PIDs
	if s.Run != nil && s.Run.Limits.Memory > 0 {
		st.MemoryLimit = s.Run.Limits.Memory
	} else {
		st.MemoryLimit = hostMemory()
	}
	if s.Run == nil || s.Run.Net != NetHost {
		st.NetRx, st.NetTx = netBytes(s.Pid)
	}
	return st, nil
}

// hostMemory is MemTotal of /proc/meminfo in bytes, or 0.
func hostMemory() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) != 2 || f[1] != "kB" {
				return 0
			}
			if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

// netBytes sums the bytes received and sent through the interfaces of
// process pid's network namespace, lo aside.
func netBytes(pid int) (rx, tx int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/dev", pid))
	if err != nil {
		return 0, 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, counters, ok := strings.Cut(sc.Text(), ":")
		if !ok || strings.TrimSpace(name) == "lo" {
			continue // the two header lines, and loopback
		}
		// Receive: bytes packets errs drop fifo frame compressed multicast;
		// then transmit's bytes.
		f := strings.Fields(counters)
		if len(f) < 9 {
			continue
		}
		r, _ := strconv.ParseInt(f[0], 10, 64)
		t, _ := strconv.ParseInt(f[8], 10, 64)
		rx, tx = rx+r, tx+t
	}
	return rx, tx
}
