package registrytest

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestPushBusybox(t *testing.T) {
	host := Start(t)
	layout := MakeImage(t, "busybox")
	PushLayout(t, layout, "latest", host, "busybox:latest")

	resp, err := http.Get("http://" + host + "/v2/busybox/tags/list")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET tags/list: %s", resp.Status)
	}
	var list struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	if list.Name != "busybox" || !slices.Contains(list.Tags, "latest") {
		t.Fatalf("tags/list = %+v, want busybox with tag latest", list)
	}
}

// Two registries in one test get two ports, and each stops with the test.
func TestStartTwo(t *testing.T) {
	a, b := Start(t), Start(t)
	if a == b {
		t.Fatalf("both registries on %s", a)
	}
}

// The derived image's base layer is built separately from the busybox image's, so equal
// digests show both that the builds are deterministic and that the base is shared.
func TestDerivedSharesBusyboxLayer(t *testing.T) {
	base, derived := layers(t, MakeImage(t, "busybox")), layers(t, MakeImage(t, "derived"))
	if len(base) != 1 || len(derived) != 3 || derived[0] != base[0] {
		t.Fatalf("busybox layers %v, derived layers %v: want 1 and 3 with the same base", base, derived)
	}
}

// layers returns the layer digests of the layout's only manifest.
func layers(t *testing.T, layout string) []string {
	t.Helper()
	var index struct {
		Manifests []struct{ Digest string }
	}
	readJSON(t, filepath.Join(layout, "index.json"), &index)
	if len(index.Manifests) != 1 {
		t.Fatalf("%s: %d manifests, want 1", layout, len(index.Manifests))
	}
	var manifest struct {
		Layers []struct{ Digest string }
	}
	hex := strings.TrimPrefix(index.Manifests[0].Digest, "sha256:")
	readJSON(t, filepath.Join(layout, "blobs", "sha256", hex), &manifest)
	var ds []string
	for _, l := range manifest.Layers {
		ds = append(ds, l.Digest)
	}
	return ds
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
