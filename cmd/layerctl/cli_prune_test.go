package main

import (
	"slices"
	"strings"
	"testing"
)

// system df counts images, containers and layers (a layer once, however
// many use it); -v shows each.
func TestCLISystemDf(t *testing.T) {
	t.Parallel()
	root, appID, _, danglingID := formatStore(t)
	mustRun(t, root, "volume", "create", "unused")
	mustRun(t, root, "create", "-v", "used:/v", "app:1")
	rows := tableRows(mustRun(t, root, "system", "df"))
	want := map[string][]string{"Images": {"3", "2"}, "Containers": {"3", "0"}, "Layers": {"3", "3"}, "Local Volumes": {"2", "1"}}
	for _, r := range rows[1:] {
		if r[0] == "Local" { // "Local Volumes", split at its blank
			r = append([]string{"Local Volumes"}, r[2:]...)
		}
		if w, ok := want[r[0]]; !ok || !slices.Equal(r[1:3], w) {
			t.Errorf("system df row %v, want TOTAL ACTIVE %v", r, w)
		}
		delete(want, r[0])
	}
	if len(want) != 0 {
		t.Errorf("system df lacks %v:\n%v", want, rows)
	}
	// The dangling image's layer is what image prune -a would free: a third.
	if r := rows[1]; r[0] != "Images" || !strings.HasSuffix(r[len(r)-1], "(33%)") {
		t.Errorf("Images row %v: want a third reclaimable", r)
	}
	verbose := mustRun(t, root, "system", "df", "-v")
	for _, w := range []string{"Images space usage:", "Containers space usage:", "Layers space usage:", "Local Volumes space usage:", short12(appID), short12(danglingID), "one", "two", "unused", "used"} {
		if !strings.Contains(verbose, w) {
			t.Errorf("system df -v lacks %q:\n%s", w, verbose)
		}
	}
}

// image prune takes dangling images, -a every image no container uses;
// container prune takes the containers not running. Without -f they ask,
// and only "y" goes on.
func TestCLIPrune(t *testing.T) {
	t.Parallel()
	root, appID, webID, danglingID := formatStore(t)
	images := func() []string { return lines(mustRun(t, root, "images", "-q")) }

	stdout, stderr, code := runWithConfig(t, dockerConfig, root, "n\n", "image", "prune", "-a")
	if code != 0 || !strings.Contains(stderr, "Are you sure") || stdout != "" || len(images()) != 3 {
		t.Errorf("prune answered n: exit %d, stdout %q, stderr %q, images %v", code, stdout, stderr, images())
	}

	out := mustRun(t, root, "image", "prune", "-f")
	if !strings.Contains(out, "deleted: "+danglingID) || !strings.Contains(out, "Total reclaimed space: ") || strings.Contains(out, "Total reclaimed space: 0B") {
		t.Errorf("image prune:\n%s", out)
	}
	// -a keeps the images the containers use.
	out = mustRun(t, root, "image", "prune", "-a", "-f")
	if got := images(); len(got) != 2 || !strings.Contains(out, "Total reclaimed space: 0B") {
		t.Errorf("image prune -a with containers: images %v\n%s", got, out)
	}

	stdout, _, code = runWithConfig(t, dockerConfig, root, "y\n", "container", "prune")
	if code != 0 || strings.Count(stdout, "\n") < 4 || len(lines(mustRun(t, root, "ps", "-aq"))) != 0 {
		t.Errorf("container prune answered y: exit %d:\n%s", code, stdout)
	}
	out = mustRun(t, root, "image", "prune", "-af")
	for _, id := range []string{appID, webID} {
		if !strings.Contains(out, "deleted: "+id) {
			t.Errorf("image prune -a lacks %s:\n%s", id, out)
		}
	}
	if !strings.Contains(out, "untagged: app:1") || len(images()) != 0 || len(listLayers(t, root)) != 0 {
		t.Errorf("image prune -a left images %v, layers %v:\n%s", images(), listLayers(t, root), out)
	}
}

// system prune removes stopped containers, then dangling images (-a: every
// unused one), then what nothing uses, as docker system prune.
func TestCLISystemPrune(t *testing.T) {
	t.Parallel()
	root, appID, webID, danglingID := formatStore(t)
	images := func() []string { return lines(mustRun(t, root, "images", "-q")) }
	stdout, stderr, code := runWithConfig(t, dockerConfig, root, "n\n", "system", "prune")
	if code != 0 || !strings.Contains(stderr, "stopped containers") || stdout != "" || len(images()) != 3 {
		t.Errorf("system prune answered n: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	out := mustRun(t, root, "system", "prune", "-f")
	if !strings.Contains(out, "Deleted Containers:") || !strings.Contains(out, "deleted: "+danglingID) ||
		strings.Contains(out, "deleted: "+appID) || strings.Contains(out, "Total reclaimed space: 0B") {
		t.Errorf("system prune -f:\n%s", out)
	}
	if ps := lines(mustRun(t, root, "ps", "-aq")); len(ps) != 0 {
		t.Errorf("containers left: %v", ps)
	}
	out = mustRun(t, root, "system", "prune", "-af")
	for _, id := range []string{appID, webID} {
		if !strings.Contains(out, "deleted: "+id) {
			t.Errorf("system prune -a lacks %s:\n%s", id, out)
		}
	}
	if len(images()) != 0 || len(listLayers(t, root)) != 0 {
		t.Errorf("system prune -a left images %v, layers %v", images(), listLayers(t, root))
	}
}
