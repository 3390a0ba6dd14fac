package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"

	"github.com/layerctl/layerctl/pkg/image/registrytest"
)

// save writes several images into one docker archive that skopeo reads and
// load takes in whole; a pull of it without NAME:TAG says which names it
// holds.
func TestCLISaveLoad(t *testing.T) {
	t.Parallel()
	root, appID, webID, _ := formatStore(t)
	file := filepath.Join(t.TempDir(), "images.tar")
	if out := mustRun(t, root, "save", "-o", file, "app:1", "app:2", "web:1"); out != "" {
		t.Errorf("save printed %q", out)
	}

	// skopeo finds each image by its name, with its very config.
	for ref, id := range map[string]string{"app:2": appID, "web:1": webID} {
		config := registrytest.Skopeo(t, "inspect", "--raw", "--config", "docker-archive:"+file+":"+ref)
		if got := digest.FromString(config).String(); got != id {
			t.Errorf("skopeo read %s with config %s, want %s", ref, got, id)
		}
	}

	fresh := newRoot(t)
	out := mustRun(t, fresh, "load", "-i", file)
	got := slices.Sorted(slices.Values(lines(out)))
	if want := []string{"Loaded image: app:1", "Loaded image: app:2", "Loaded image: web:1"}; !slices.Equal(got, want) {
		t.Errorf("load printed %q, want %q", got, want)
	}
	for ref, id := range map[string]string{"app:1": appID, "app:2": appID, "web:1": webID} {
		if in := inspectJSON(t, fresh, ref); in.ID != id {
			t.Errorf("loaded %s is %s, saved %s", ref, in.ID, id)
		}
	}

	_, stderr, code := run(t, newRoot(t), "pull", "docker-archive:"+file)
	checkOneLineError(t, stderr, code)
	for _, w := range []string{"holds 2 images", "app:1", "app:2", "web:1", "load -i"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("pull of a two-image archive: %q lacks %q", stderr, w)
		}
	}
	// Naming one pulls that one.
	if id := pullID(t, newRoot(t), "docker-archive:"+file+":web:1"); id != webID {
		t.Errorf("pull of web:1 from the archive: %s, want %s", id, webID)
	}

	bad := filepath.Join(t.TempDir(), "bad.tar")
	_, stderr, code = run(t, root, "save", "-o", bad, "app:1", "nosuch")
	checkOneLineError(t, stderr, code)
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Errorf("a failed save left %s (%v)", bad, err)
	}
	for _, args := range [][]string{{"save", "app:1"}, {"load"}, {"load", "-i", bad}} {
		_, stderr, code := run(t, root, args...)
		checkOneLineError(t, stderr, code)
	}
}
