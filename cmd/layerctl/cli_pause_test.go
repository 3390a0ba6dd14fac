package main

import (
	"strings"
	"testing"
	"time"
)

// pause freezes a container until unpause, as docker pause: ps says so,
// exec, stop and kill are refused, a commit's freeze and thaw leave it
// paused, and rm -f still removes it.
func TestCLIPause(t *testing.T) {
	t.Parallel()
	b := newBox(t)
	b.detach(t, "--name", "ticker", busyboxImage, "sh", "-c", "i=0; while true; do i=$((i+1)); echo $i > /tmp/n; sleep 0.02; done")
	count := func() string {
		t.Helper()
		out, _, code := b.run(t, "cp", "ticker:/tmp/n", "-")
		if code != 0 {
			t.Fatalf("cp ticker:/tmp/n: exit %d", code)
		}
		return out
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) { // the loop's first count
		if _, _, code := b.run(t, "cp", "ticker:/tmp/n", "-"); code == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the ticker never wrote /tmp/n")
		}
	}
	b.mustRun(t, "pause", "ticker")
	if r, _ := b.find(t, "ticker"); !strings.Contains(strings.ToLower(r.Status), "paused") {
		t.Errorf("ps status %q, want Paused", r.Status)
	}
	before := count()
	time.Sleep(300 * time.Millisecond)
	if after := count(); after != before {
		t.Errorf("a paused container went on: %q then %q", before, after)
	}
	for _, args := range [][]string{{"exec", "ticker", "true"}, {"stop", "ticker"}, {"kill", "ticker"}, {"pause", "ticker"}} {
		_, errOut, code := b.run(t, args...)
		if code != 1 {
			t.Errorf("%v on a paused container: exit %d", args, code)
		}
		checkOneLine(t, errOut, "paused")
	}
	b.mustRun(t, "commit", "ticker", "ticker-img")
	time.Sleep(100 * time.Millisecond)
	if after := count(); after != before {
		t.Errorf("a commit thawed the paused container: %q then %q", before, after)
	}
	b.mustRun(t, "unpause", "ticker")
	for deadline := time.Now().Add(10 * time.Second); count() == before; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("unpause did not thaw the container")
		}
	}
	_, errOut, code := b.run(t, "unpause", "ticker")
	if code != 1 {
		t.Errorf("unpause of a running container: exit %d", code)
	}
	checkOneLine(t, errOut, "not paused")
	b.mustRun(t, "pause", "ticker")
	b.mustRun(t, "rm", "-f", "ticker")
}
