package image_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	digest "github.com/opencontainers/go-digest"

	"github.com/layerctl/layerctl/pkg/image"
	"github.com/layerctl/layerctl/pkg/image/registrytest"
	"github.com/layerctl/layerctl/pkg/layer"
)

// bigBaseTar is a base layer with 2 MiB of incompressible data, so that its
// download and extraction take long enough for two pulls to overlap.
func bigBaseTar(t testing.TB) []byte {
	data := make([]byte, 2<<20)
	r := rand.NewChaCha8([32]byte{1, 2, 3})
	r.Read(data)
	return tarOf(t, dir("etc"), file("etc/os-release", "ID=test\n"), dir("data"), file("data/blob", string(data)))
}

// Two pulls at once of images sharing a base layer (or of one image), in one
// store or in two Store instances on one root (as two processes would): both
// succeed, the base is fetched and extracted once, the store holds each layer
// once, every layer verifies and both names are recorded.
func TestPullConcurrent(t *testing.T) {
	reg := startRegistry(t)
	base := gzipLayer(t, bigBaseTar(t))
	topA, topB := gzipLayer(t, appTar(t, "a\n")), gzipLayer(t, appTar(t, "b\n"))
	imgs := map[string]v1.Image{
		"a": registrytest.OCIImage(t, nil, base, topA),
		"b": registrytest.OCIImage(t, nil, base, topB),
	}
	srcs := map[string]string{"a": reg.push(t, "a:1", imgs["a"]), "b": reg.push(t, "b:1", imgs["b"])}
	tops := map[string]v1.Layer{"a": topA, "b": topB}
	// A slow base download keeps the first pull inside the base layer's
	// lock while the second arrives.
	reg.slow(blobDigest(t, base), 100*time.Millisecond)

	for _, tc := range []struct {
		name       string
		twoStores  bool
		pair       [2]string
		jobsSecond int
	}{
		{name: "one store, shared base", pair: [2]string{"a", "b"}},
		{name: "two stores, shared base", twoStores: true, pair: [2]string{"a", "b"}},
		{name: "one store, same image", pair: [2]string{"a", "a"}},
		{name: "two stores, same image", twoStores: true, pair: [2]string{"a", "a"}, jobsSecond: 1},
	} {
		for round := range 3 {
			t.Run(fmt.Sprintf("%s/%d", tc.name, round), func(t *testing.T) {
				root := t.TempDir()
				var stores [2]*layer.Store
				var records [2]*image.Images
				stores[0], records[0] = openStore(t, root)
				stores[1], records[1] = stores[0], records[0]
				if tc.twoStores {
					stores[1], records[1] = openStore(t, root)
				}
				baseBlob := blobDigest(t, base)
				baseGets := reg.blobGets(baseBlob)
				topGets := map[string]int{}
				for k, l := range tops {
					topGets[k] = reg.blobGets(blobDigest(t, l))
				}

				var wg sync.WaitGroup
				start := make(chan struct{})
				var recs [2]image.Record
				var errs [2]error
				progress := [2]*progressLog{newProgressLog(), newProgressLog()}
				for i, k := range tc.pair {
					wg.Go(func() {
						<-start
						opts := image.PullOptions{Insecure: true, Progress: progress[i]}
						if i == 1 {
							opts.Jobs = tc.jobsSecond
						}
						recs[i], errs[i] = image.Pull(t.Context(), stores[i], records[i], srcs[k], opts)
					})
				}
				close(start)
				wg.Wait()
				for i, err := range errs {
					if err != nil {
						t.Fatalf("pull %d (%s): %v", i, tc.pair[i], err)
					}
				}

				s, im := stores[0], records[0]
				var want []digest.Digest
				for i, k := range tc.pair {
					checkPulled(t, s, im, recs[i], imgs[k], srcs[k])
					checkFile(t, s, recs[i].ChainIDs[1], "app/hello", k+"\n")
					for _, id := range recs[i].ChainIDs {
						if !slices.Contains(want, id) {
							want = append(want, id)
						}
					}
				}
				if got := listedChainIDs(t, s); !sameSet(got, want) {
					t.Errorf("store layers %v, want exactly %v", got, want)
				}
				entries, err := os.ReadDir(filepath.Join(root, "layers"))
				if err != nil {
					t.Fatal(err)
				}
				if len(entries) != len(want) {
					t.Errorf("layers/ has %d entries, want %d", len(entries), len(want))
				}
				// One pull extracted the base, the other found it.
				id := progressID(baseBlob)
				if got := []string{progress[0].status[id], progress[1].status[id]}; !slices.Contains(got, "done") || !slices.Contains(got, "exists") {
					t.Errorf("base layer progress %q, want one done and one exists", got)
				}
				if n := reg.blobGets(baseBlob) - baseGets; n != 1 {
					t.Errorf("base blob fetched %d times, want once", n)
				}
				for k, l := range tops {
					wantGets := 0
					if tc.pair[0] == k || tc.pair[1] == k {
						wantGets = 1
					}
					if n := reg.blobGets(blobDigest(t, l)) - topGets[k]; n != wantGets {
						t.Errorf("top layer of %s fetched %d times, want %d", k, n, wantGets)
					}
				}
				if tc.twoStores {
					// The second store sees the same records and names.
					for i, k := range tc.pair {
						if r, err := records[1].Resolve(srcs[k]); err != nil || r.ID != recs[i].ID {
							t.Errorf("second store: %s resolves to %v (%v), want %s", srcs[k], r.ID, err, recs[i].ID)
						}
					}
				}
			})
		}
	}
}

// Layers the store holds are not fetched again: pulling A (base + a) and
// then B (the same base + b) downloads the base once, and pulling A again
// downloads no layer. Progress says "exists" for the layers not fetched.
func TestPullSkipsStoredLayers(t *testing.T) {
	reg := startRegistry(t)
	base, topA, topB := gzipLayer(t, baseTar(t)), gzipLayer(t, appTar(t, "a\n")), gzipLayer(t, appTar(t, "b\n"))
	imgA, imgB := registrytest.OCIImage(t, nil, base, topA), registrytest.OCIImage(t, nil, base, topB)
	srcA, srcB := reg.push(t, "a:1", imgA), reg.push(t, "b:1", imgB)
	blobs := map[string]string{"base": blobDigest(t, base), "a": blobDigest(t, topA), "b": blobDigest(t, topB)}
	before := map[string]int{}
	for k, d := range blobs {
		before[k] = reg.blobGets(d)
	}
	s, im := newStore(t)

	steps := []struct {
		src    string
		img    v1.Image
		status map[string]string // per blob: the progress status
		gets   map[string]int    // per blob: GETs so far
	}{
		{srcA, imgA, map[string]string{"base": "done", "a": "done"}, map[string]int{"base": 1, "a": 1, "b": 0}},
		{srcB, imgB, map[string]string{"base": "exists", "b": "done"}, map[string]int{"base": 1, "a": 1, "b": 1}},
		{srcA, imgA, map[string]string{"base": "exists", "a": "exists"}, map[string]int{"base": 1, "a": 1, "b": 1}},
	}
	for i, st := range steps {
		p := newProgressLog()
		rec := mustPull(t, s, im, st.src, image.PullOptions{Progress: p})
		checkPulled(t, s, im, rec, st.img, st.src)
		for k, want := range st.status {
			id := progressID(blobs[k])
			if got := p.status[id]; got != want {
				t.Errorf("step %d: progress status of %s = %q, want %q", i, k, got, want)
			}
			size, begun := p.begun[id]
			if want == "exists" && (begun || p.bytes[id] != 0) {
				t.Errorf("step %d: %s exists but progress began (%d bytes)", i, k, p.bytes[id])
			}
			if want == "done" {
				l := map[string]v1.Layer{"base": base, "a": topA, "b": topB}[k]
				blobSize, err := l.Size()
				if err != nil {
					t.Fatal(err)
				}
				if size != blobSize || int64(p.bytes[id]) != blobSize {
					t.Errorf("step %d: progress of %s: size %d, %d bytes read; want %d", i, k, size, p.bytes[id], blobSize)
				}
			}
		}
		for k, want := range st.gets {
			if got := reg.blobGets(blobs[k]) - before[k]; got != want {
				t.Errorf("step %d: blob %s fetched %d times, want %d", i, k, got, want)
			}
		}
	}
	if got, want := listedChainIDs(t, s), append(chainIDsOf(t, imgA), chainIDsOf(t, imgB)[1]); !sameSet(got, want) {
		t.Errorf("store layers %v, want %v", got, want)
	}
}

// Layers are fetched and extracted in parallel but published base first; a
// hardlink to a file of a lower layer is resolved through the parent chain
// whatever the number of jobs.
func TestPullJobs(t *testing.T) {
	var layers []v1.Layer
	layers = append(layers, gzipLayer(t, tarOf(t, dir("bin"), file("bin/tool", "tool v1\n"))))
	for i := 1; i < 6; i++ {
		layers = append(layers, gzipLayer(t, tarOf(t, dir("l"), file(fmt.Sprintf("l/f%d", i), fmt.Sprintf("layer %d\n", i)))))
	}
	layers = append(layers, gzipLayer(t, tarOf(t, dir("bin"), hardlink("bin/tool2", "bin/tool"))))
	img := registrytest.OCIImage(t, nil, layers...)
	reg := startRegistry(t)
	src := reg.push(t, "many:1", img)

	for _, jobs := range []int{1, 2, 3, 16} {
		t.Run(fmt.Sprintf("jobs=%d", jobs), func(t *testing.T) {
			s, im := newStore(t)
			rec := mustPull(t, s, im, src, image.PullOptions{Jobs: jobs})
			checkPulled(t, s, im, rec, img, src)
			checkFile(t, s, rec.ChainIDs[0], "bin/tool", "tool v1\n")
			for i := 1; i < 6; i++ {
				checkFile(t, s, rec.ChainIDs[i], fmt.Sprintf("l/f%d", i), fmt.Sprintf("layer %d\n", i))
			}
			top := rec.ChainIDs[len(rec.ChainIDs)-1]
			checkFile(t, s, top, "bin/tool2", "tool v1\n")
			if got := listedChainIDs(t, s); !sameSet(got, rec.ChainIDs) {
				t.Errorf("store layers %v, want %v", got, rec.ChainIDs)
			}
		})
	}
}
