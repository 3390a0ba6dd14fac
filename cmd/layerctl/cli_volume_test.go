package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Named volumes, as docker's: run -v NAME:/path makes one when missing and
// fills a new one from the image; its data outlives the container; rm
// refuses one a container names; prune takes the unnamed ones (-a: all).
func TestCLIVolumes(t *testing.T) {
	t.Parallel()
	b := newBox(t)
	b.mustRun(t, "run", "--rm", "-v", "data:/data", busyboxImage, "sh", "-c", "echo kept > /data/f")
	if out := b.mustRun(t, "run", "--rm", "-v", "data:/d:ro", busyboxImage, "sh", "-c", "cat /d/f; touch /d/x 2>/dev/null || echo refused"); out != "kept\nrefused\n" {
		t.Errorf("the volume in a second container: %q", out)
	}
	// A new volume over a directory of the image starts with its contents.
	if out := b.mustRun(t, "run", "--rm", "-v", "etc:/etc", busyboxImage, "sh", "-c", "head -1 /etc/passwd"); out != "root:x:0:0:root:/root:/bin/sh\n" {
		t.Errorf("a new volume at /etc: %q, want the image's passwd", out)
	}
	if got := lines(b.mustRun(t, "volume", "ls", "-q")); !slices.Equal(got, []string{"data", "etc"}) {
		t.Errorf("volume ls -q: %q", got)
	}
	var info []struct{ Name, Mountpoint string }
	if err := json.Unmarshal([]byte(b.mustRun(t, "volume", "inspect", "data")), &info); err != nil || len(info) != 1 {
		t.Fatalf("volume inspect: %v %v", info, err)
	}
	if body, err := os.ReadFile(filepath.Join(info[0].Mountpoint, "f")); err != nil || string(body) != "kept\n" {
		t.Errorf("the volume's Mountpoint holds %q, %v", body, err)
	}

	id := strings.TrimSpace(b.mustRun(t, "create", "-v", "data:/data", busyboxImage))
	var ctr struct{ Config struct{ Binds []string } }
	if err := json.Unmarshal([]byte(b.mustRun(t, "inspect", id)), &ctr); err != nil || !slices.Equal(ctr.Config.Binds, []string{"data:/data"}) {
		t.Errorf("inspect's Binds %v (%v), want data:/data", ctr.Config.Binds, err)
	}
	_, errOut, code := b.run(t, "volume", "rm", "data")
	if code != 1 || !strings.Contains(errOut, "in use") {
		t.Errorf("volume rm of a volume a container names: exit %d, %q", code, errOut)
	}
	b.mustRun(t, "rm", id)
	anon := strings.TrimSpace(b.mustRun(t, "volume", "create"))
	if len(anon) != 64 {
		t.Errorf("volume create without a name printed %q", anon)
	}
	if out := b.mustRun(t, "volume", "prune", "-f"); !strings.Contains(out, anon) || strings.Contains(out, "data") {
		t.Errorf("volume prune took:\n%s\nwant the unnamed volume only", out)
	}
	b.mustRun(t, "volume", "rm", "etc")
	if out := b.mustRun(t, "volume", "prune", "-a", "-f"); !strings.Contains(out, "data") {
		t.Errorf("volume prune -a:\n%s", out)
	}
	if got := b.mustRun(t, "volume", "ls", "-q"); got != "" {
		t.Errorf("volumes left: %q", got)
	}
	for _, args := range [][]string{{"run", "--rm", "-v", "a b:/x", busyboxImage, "true"}, {"volume", "create", "x"}, {"volume", "rm", "nosuch"}} {
		_, errOut, code := b.run(t, args...)
		if code == 0 {
			t.Errorf("%v: exit 0", args)
		}
		checkOneLine(t, errOut)
	}
}

// A --rm container's rootfs is mounted volatile; mounted once for a cp
// before its start, it mounts again for the run.
func TestCLICpBeforeStartOfThrowaway(t *testing.T) {
	t.Parallel()
	b := newBox(t)
	b.mustRun(t, "create", "--rm", "--name", "once", busyboxImage, "cat", "/etc/hostname")
	host := filepath.Join(t.TempDir(), "h")
	b.mustRun(t, "cp", "once:/etc/hostname", host)
	want, _ := os.ReadFile(host)
	if out := b.mustRun(t, "start", "-a", "once"); out != string(want) {
		t.Errorf("start -a after cp: %q, want %q", out, want)
	}
}
