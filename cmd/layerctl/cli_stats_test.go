package main

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// stats reads what running containers use, as docker stats --no-stream:
// CPU % over a second, memory against --memory, PIDs; a stopped container
// named shows --.
func TestCLIStats(t *testing.T) {
	t.Parallel()
	b := newBox(t)
	b.detach(t, "--name", "spin", busyboxImage, "sh", "-c", "while :; do :; done")
	b.detach(t, "--name", "shm", "-m", "64m", busyboxImage, "sh", "-c",
		"dd if=/dev/zero of=/dev/shm/x bs=1M count=20 2>/dev/null; sleep 1000 & exec sleep 1001")
	b.mustRun(t, "create", "--name", "still", busyboxImage)
	var rows map[string][]string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) { // until shm's dd is done
		out := b.mustRun(t, "stats", "--no-stream", "--format", "{{.Name}}|{{.CPUPerc}}|{{.MemUsage}}|{{.PIDs}}", "spin", "shm", "still")
		rows = map[string][]string{}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			f := strings.Split(line, "|")
			rows[f[0]] = f[1:]
		}
		if rows["shm"] != nil && rows["shm"][2] == "2" {
			break
		}
	}
	if len(rows) != 3 {
		t.Fatalf("stats rows %v, want spin, shm and still", rows)
	}
	if cpu, err := strconv.ParseFloat(strings.TrimSuffix(rows["spin"][0], "%"), 64); err != nil || cpu < 5 {
		t.Errorf("spin's CPU %q, want a busy loop's (5%% or more, beside the other tests)", rows["spin"][0])
	}
	used, limit, _ := strings.Cut(rows["shm"][1], " / ")
	if limit != "64MiB" || !strings.HasSuffix(used, "MiB") {
		t.Errorf("shm's memory %q, want MiB of 64MiB", rows["shm"][1])
	} else if mib, err := strconv.ParseFloat(strings.TrimSuffix(used, "MiB"), 64); err != nil || mib < 20 {
		t.Errorf("shm's memory %q, want the 20 MiB it wrote to /dev/shm at least", used)
	}
	if rows["shm"][2] != "2" {
		t.Errorf("shm's PIDs %q, want 2", rows["shm"][2])
	}
	if rows["still"][0] != "--" || rows["still"][2] != "--" {
		t.Errorf("a created container's stats %v, want --", rows["still"])
	}
	_, errOut, code := b.run(t, "stats", "--no-stream", "nosuch")
	if code != 1 {
		t.Errorf("stats nosuch: exit %d", code)
	}
	checkOneLine(t, errOut, "nosuch", "not found")
}
