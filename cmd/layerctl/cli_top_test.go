package main

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// top lists a running container's processes, by the host's ps and its
// options, and nothing else; rename renames as docker rename does.
func TestCLITopRename(t *testing.T) {
	t.Parallel()
	b := newBox(t)
	b.detach(t, "--name", "procs", busyboxImage, "sh", "-c", "sleep 1001 & exec sleep 1002")
	var out string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) { // the background sleep starts a moment after the container
		if out = b.mustRun(t, "top", "procs", "-o", "pid,args"); strings.Contains(out, "sleep 1001") {
			break
		}
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || strings.Fields(lines[0])[0] != "PID" || !strings.Contains(out, "sleep 1002") {
		t.Errorf("top procs -o pid,args:\n%s\nwant a header and the two sleeps", out)
	}
	if strings.Contains(b.mustRun(t, "top", "procs"), " "+strconv.Itoa(os.Getpid())+" ") {
		t.Error("top shows a process outside the container")
	}

	b.mustRun(t, "rename", "procs", "renamed")
	if _, _, code := b.run(t, "inspect", "procs"); code == 0 {
		t.Error("the old name still resolves")
	}
	if out := b.mustRun(t, "top", "renamed", "-o", "pid,args"); !strings.Contains(out, "sleep 1002") {
		t.Errorf("top after rename: %q", out)
	}
	b.mustRun(t, "create", "--name", "taken", busyboxImage)
	for _, tc := range []struct {
		args  []string
		words []string
	}{
		{[]string{"rename", "renamed", "taken"}, []string{"taken", "already exists"}},
		{[]string{"rename", "renamed", "renamed"}, []string{"already"}},
		{[]string{"rename", "renamed", "bad name"}, []string{"invalid name"}},
		{[]string{"top", "taken"}, []string{"not running"}},
	} {
		_, errOut, code := b.run(t, tc.args...)
		if code != 1 {
			t.Errorf("%v: exit %d", tc.args, code)
		}
		checkOneLine(t, errOut, tc.words...)
	}
}
