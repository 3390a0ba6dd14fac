package explore_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/layerctl/layerctl/pkg/container"
	"github.com/layerctl/layerctl/pkg/explore"
	"github.com/layerctl/layerctl/pkg/image"
	"github.com/layerctl/layerctl/pkg/layer/layertest"
)

// step is one history entry of a test image: a layer of entries, or an
// empty layer when entries is nil.
type step struct {
	createdBy string
	entries   []layertest.Entry
}

// pullImage builds an image of steps, pulls it into a new store and
// returns the store and the image ID.
func pullImage(t *testing.T, steps ...step) (*container.Store, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the store keeps every file's owner")
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	created := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for i, s := range steps {
		h := v1.History{CreatedBy: s.createdBy, Created: v1.Time{Time: created.Add(time.Duration(i) * time.Minute)}}
		var err error
		if s.entries == nil {
			h.EmptyLayer = true
			img, err = mutate.Append(img, mutate.Addendum{History: h})
		} else {
			raw := layertest.Tar(t, s.entries...)
			l, lerr := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
				return io.NopCloser(bytes.NewReader(raw)), nil
			}, tarball.WithMediaType(types.OCILayer))
			if lerr != nil {
				t.Fatal(lerr)
			}
			img, err = mutate.Append(img, mutate.Addendum{Layer: l, History: h})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "layout")
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "t"})); err != nil {
		t.Fatal(err)
	}
	s, err := container.Open(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	rec, err := s.Pull(context.Background(), "oci:"+dir+":t", image.PullOptions{Name: "explore-test:latest"})
	if err != nil {
		t.Fatal(err)
	}
	return s, rec.ID.String()
}

func body(n int, c byte) string { return string(bytes.Repeat([]byte{c}, n)) }

// knownSteps make an image whose figures are known: a file added then
// deleted, one overwritten, a chown-only change, an opaque dir and a
// hardlink whose first name is deleted.
func knownSteps() []step {
	F, D := layertest.File, layertest.Dir
	return []step{
		{"ADD rootfs /", []layertest.Entry{
			D("etc/"), F("etc/keep", body(100, 'k')), F("etc/big", body(1000, 'b')), F("etc/owned", body(300, 'o')),
			D("opq/"), F("opq/old1", body(50, '1')), F("opq/old2", body(70, '2')),
			D("hl/"), F("hl/a", body(400, 'a')), layertest.Hardlink("hl/b", "hl/a"),
		}},
		{"ENV A=1", nil},
		{"RUN make junk", []layertest.Entry{D("tmp/"), F("tmp/junk", body(2000, 'j'))}},
		{"RUN clean up", []layertest.Entry{
			D("etc/"), F("etc/big", body(1500, 'B')), F("etc/owned", body(300, 'o'), layertest.Owner(1000, 1000)),
			D("hl/"), F("hl/.wh.a", ""),
			D("opq/"), F("opq/.wh..wh..opq", ""), F("opq/new", body(20, 'n')),
			D("tmp/"), F("tmp/.wh.junk", ""),
		}},
	}
}

func TestAnalyzeKnownImage(t *testing.T) {
	s, id := pullImage(t, knownSteps()...)
	rep, err := explore.Analyze(context.Background(), s, id, explore.Options{BaseLayers: 1})
	if err != nil {
		t.Fatal(err)
	}
	const size, wasted = 1920 + 2000 + 1820, 2000 + 1000 + 300 + 50 + 70
	if rep.SizeBytes != size || rep.WastedBytes != wasted {
		t.Errorf("size %d wasted %d, want %d %d", rep.SizeBytes, rep.WastedBytes, size, wasted)
	}
	if want := float64(size-wasted) / size; rep.Efficiency != want {
		t.Errorf("efficiency %v, want %v", rep.Efficiency, want)
	}
	// The user layers (1, 2) hold 3820 bytes and hide all the waste.
	if want := float64(wasted) / 3820; rep.UserWastedPercent != want {
		t.Errorf("user wasted percent %v, want %v", rep.UserWastedPercent, want)
	}
	want := []explore.Inefficiency{{Path: "/tmp/junk", Count: 1, WastedBytes: 2000}, {Path: "/etc/big", Count: 2, WastedBytes: 1000},
		{Path: "/etc/owned", Count: 2, WastedBytes: 300}, {Path: "/opq/old2", Count: 1, WastedBytes: 70}, {Path: "/opq/old1", Count: 1, WastedBytes: 50}}
	if !reflect.DeepEqual(rep.Inefficiencies, want) {
		t.Errorf("inefficiencies %+v, want %+v", rep.Inefficiencies, want)
	}
	if len(rep.Layers) != 3 {
		t.Fatalf("%d layers, want 3", len(rep.Layers))
	}
	top := rep.Layers[2]
	if top.Index != 2 || top.CreatedBy != "RUN clean up" || top.SizeBytes != 1820 {
		t.Errorf("top layer %d %q %d bytes, want 2 \"RUN clean up\" 1820", top.Index, top.CreatedBy, top.SizeBytes)
	}
	checkPaths(t, "added", top.Added, []string{"/opq/new"})
	checkPaths(t, "modified", top.Modified, []string{"/etc", "/etc/big", "/etc/owned", "/hl", "/opq", "/tmp"})
	checkPaths(t, "deleted", top.Deleted, []string{"/hl/a", "/opq/old1", "/opq/old2", "/tmp/junk"})
	checkPaths(t, "base added", rep.Layers[0].Added, []string{"/etc", "/etc/big", "/etc/keep", "/etc/owned", "/hl", "/hl/a", "/hl/b", "/opq", "/opq/old1", "/opq/old2"})
}

func checkPaths(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s %q, want %q", what, got, want)
	}
}

func TestHistoryKnownImage(t *testing.T) {
	s, id := pullImage(t, knownSteps()...)
	h, err := explore.History(s, id)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range h {
		got = append(got, fmt.Sprintf("%s %d %v %v", e.CreatedBy, e.SizeBytes, e.EmptyLayer, e.Layer != ""))
	}
	want := []string{"RUN clean up 1820 false true", "RUN make junk 2000 false true", "ENV A=1 0 true false", "ADD rootfs / 1920 false true"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("history %q, want %q", got, want)
	}
}

// TestAnalyzeManyLayers: an image of 260 layers, each overwriting one file.
func TestAnalyzeManyLayers(t *testing.T) {
	const n = 260
	steps := make([]step, n)
	for i := range steps {
		steps[i] = step{fmt.Sprintf("RUN step %d", i), []layertest.Entry{layertest.File("f", body(10, 'x')), layertest.File(fmt.Sprintf("own%d", i), "z")}}
	}
	t0 := time.Now()
	s, id := pullImage(t, steps...)
	t.Log("pull", time.Since(t0))
	t0 = time.Now()
	rep, err := explore.Analyze(context.Background(), s, id, explore.Options{})
	t.Log("analyze", time.Since(t0))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Layers) != n || rep.SizeBytes != n*11 || rep.WastedBytes != (n-1)*10 {
		t.Fatalf("%d layers, size %d, wasted %d; want %d, %d, %d", len(rep.Layers), rep.SizeBytes, rep.WastedBytes, n, n*11, (n-1)*10)
	}
	if ie := rep.Inefficiencies; len(ie) != 1 || ie[0].Count != n {
		t.Errorf("inefficiencies %+v, want /f with %d copies", ie, n)
	}
}

func TestAnalyzeBadBase(t *testing.T) {
	s, id := pullImage(t, knownSteps()...)
	if _, err := explore.Analyze(context.Background(), s, id, explore.Options{BaseLayers: 4}); err == nil {
		t.Error("a base of 4 layers in an image of 3: no error")
	}
}

// TestReadLayerFileStaysInLayer: the content view reads a layer's own
// regular files and follows no link out of its diff dir.
func TestReadLayerFileStaysInLayer(t *testing.T) {
	s, id := pullImage(t, step{"ADD", []layertest.Entry{
		layertest.Dir("etc/"), layertest.File("etc/motd", "hello"),
		layertest.Symlink("etc/host", "/etc/hostname"), layertest.Symlink("up", "../../../../../.."),
		layertest.Fifo("fifo"),
	}})
	rec, err := s.ResolveImage(id)
	if err != nil {
		t.Fatal(err)
	}
	top := rec.ChainIDs[0]
	if b, err := s.ReadLayerFile(top, "etc/motd", 3); err != nil || string(b) != "hel" {
		t.Errorf("etc/motd, at most 3 bytes: %q, %v", b, err)
	}
	for _, name := range []string{"etc/host", "up/etc/hostname", "../../../../etc/hostname", "fifo", "etc"} {
		if b, err := s.ReadLayerFile(top, name, 1<<20); err == nil {
			t.Errorf("%s: read %d bytes, want an error", name, len(b))
		}
	}
}
