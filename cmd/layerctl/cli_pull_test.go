package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	digest "github.com/opencontainers/go-digest"
)

// testRegistry is an in-memory registry (go-containerregistry's) on an
// httptest server. Chosen blobs are served by the test itself, slowly, and
// every blob GET is counted.
type testRegistry struct {
	host    string
	release chan struct{} // closed at cleanup: stalled blob responses end

	mu   sync.Mutex
	slow map[string]*slowBlob // by "sha256:hex"
	gets map[string]int
}

// slowBlob says how the test serves a blob: chunk bytes at a time, a flush
// and a sleep after each; with stallAt > 0, the response stops after that
// many bytes and hangs until the client goes away.
type slowBlob struct {
	data    []byte
	chunk   int
	delay   time.Duration
	stallAt int
}

func newTestRegistry(t *testing.T) *testRegistry {
	t.Helper()
	r := &testRegistry{release: make(chan struct{}), slow: map[string]*slowBlob{}, gets: map[string]int{}}
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		d, isBlob := blobDigest(req.URL.Path)
		if !isBlob || req.Method != http.MethodGet {
			inner.ServeHTTP(w, req)
			return
		}
		r.mu.Lock()
		r.gets[d]++
		sb := r.slow[d]
		r.mu.Unlock()
		if sb == nil {
			inner.ServeHTTP(w, req)
			return
		}
		r.serveSlowly(w, req, d, sb)
	}))
	t.Cleanup(srv.Close)
	// Cleanups run last-registered first: stalled handlers end before Close
	// waits for them.
	t.Cleanup(func() { close(r.release) })
	r.host = strings.TrimPrefix(srv.URL, "http://")
	return r
}

// blobDigest tells whether path is /v2/<repo>/blobs/<digest>.
func blobDigest(path string) (string, bool) {
	i := strings.LastIndex(path, "/blobs/")
	if !strings.HasPrefix(path, "/v2/") || i < 0 {
		return "", false
	}
	d := path[i+len("/blobs/"):]
	return d, digest.Digest(d).Validate() == nil
}

func (r *testRegistry) serveSlowly(w http.ResponseWriter, req *http.Request, d string, sb *slowBlob) {
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(sb.data)))
	w.Header().Set("Docker-Content-Digest", d)
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	for off := 0; off < len(sb.data); {
		if sb.stallAt > 0 && off >= sb.stallAt {
			select {
			case <-req.Context().Done():
			case <-r.release:
			}
			return
		}
		end := min(off+sb.chunk, len(sb.data))
		if _, err := w.Write(sb.data[off:end]); err != nil {
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
		off = end
		select {
		case <-req.Context().Done():
			return
		case <-time.After(sb.delay):
		}
	}
}

// setSlow serves layer l's compressed blob as sb says (nil: normally again).
func (r *testRegistry) setSlow(t *testing.T, l v1.Layer, sb *slowBlob) {
	t.Helper()
	d := layerDigest(t, l)
	r.mu.Lock()
	defer r.mu.Unlock()
	if sb == nil {
		delete(r.slow, d)
		return
	}
	rc, err := l.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if sb.data, err = io.ReadAll(rc); err != nil {
		t.Fatal(err)
	}
	r.slow[d] = sb
}

func (r *testRegistry) blobGets(t *testing.T, l v1.Layer) int {
	d := layerDigest(t, l)
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.gets[d]
}

// push writes img as host/repoTag and returns the reference to pull.
func (r *testRegistry) push(t *testing.T, img v1.Image, repoTag string) string {
	t.Helper()
	ref, err := name.ParseReference(r.host+"/"+repoTag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	return ref.String()
}

func layerDigest(t *testing.T, l v1.Layer) string {
	t.Helper()
	h, err := l.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

// bigLayer is a gzip layer of files files of size bytes each of random
// content, under big/.
func bigLayer(t *testing.T, files, size int) v1.Layer {
	t.Helper()
	entries := []entry{dir("big/")}
	for i := 0; i < files; i++ {
		entries = append(entries, binFile(fmt.Sprintf("big/f%02d", i), randomBytes(int64(1000+i), size)))
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	if _, err := zw.Write(layerTar(t, entries...)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	blob := gz.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(blob)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// startCmd starts cmd and makes sure the process is gone when the test ends.
// The returned channel yields cmd.Wait's error once.
func startCmd(t *testing.T, cmd *exec.Cmd) <-chan error {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	exited := make(chan struct{})
	go func() { done <- cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			cmd.Process.Kill() // by the PID we started
			<-exited
		}
	})
	return done
}

// partialLayer finds a tmp/layer-* dir whose diff holds a big/ file with
// content: the big layer being extracted.
func partialLayer(root string) (string, bool) {
	dirs, _ := filepath.Glob(filepath.Join(root, "tmp", "layer-*"))
	for _, d := range dirs {
		files, _ := filepath.Glob(filepath.Join(d, "diff", "big", "f*"))
		for _, f := range files {
			if st, err := os.Stat(f); err == nil && st.Size() > 0 {
				return d, true
			}
		}
	}
	return "", false
}

// A pull killed with SIGKILL in the middle of a layer leaves no layer or
// image behind, only tmp/ leftovers, which the next run removes.
func TestCLIPullKilledMidLayer(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	base := baseLayer(t, 5)
	big := bigLayer(t, 24, 1<<20)
	img := newImage(t, base, big)
	id, _, chainIDs := imageIDs(t, img)
	ref := reg.push(t, img, "kill/big:latest")
	// 64 KiB every 5 ms, stalling at half: the pull is surely mid-layer.
	reg.setSlow(t, big, &slowBlob{chunk: 64 << 10, delay: 5 * time.Millisecond})
	reg.mu.Lock()
	sb := reg.slow[layerDigest(t, big)]
	sb.stallAt = len(sb.data) / 2
	reg.mu.Unlock()

	root := newRoot(t)
	cmd := command(root, "pull", "--insecure", ref, "big")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	done := startCmd(t, cmd)
	deadline := time.Now().Add(30 * time.Second)
	var partial string
	for {
		var ok bool
		if partial, ok = partialLayer(root); ok {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("pull ended before it was killed: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no partial big layer under %s/tmp after 30s", root)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := <-done
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("pull was not killed by SIGKILL: %v", err)
	}

	// Nothing partial is visible (at most the complete base layer); the
	// store is looked at directly, since any layerctl run would clean tmp/.
	if names := dirNames(t, filepath.Join(root, "layers")); len(names) > 1 || len(names) == 1 && names[0] != chainIDs[0].Encoded() {
		t.Errorf("layers/ after the kill: %v, want at most the base %s", names, chainIDs[0].Encoded())
	}
	if _, err := os.Stat(filepath.Join(root, "layers", chainIDs[1].Encoded())); !os.IsNotExist(err) {
		t.Errorf("the big layer %s is in layers/ after the kill", chainIDs[1])
	}
	for _, n := range dirNames(t, filepath.Join(root, "images")) {
		if n != "refs.json" {
			t.Errorf("image record %s after the kill", n)
		}
	}
	if refs, _ := os.ReadFile(filepath.Join(root, "images", "refs.json")); bytes.Contains(refs, []byte("big")) {
		t.Errorf("refs.json names the killed pull's image: %s", refs)
	}
	if _, err := os.Stat(partial); err != nil {
		t.Fatalf("the killed pull's %s is gone already: %v", partial, err)
	}

	// The very next run is a normal pull: it succeeds and removes the leftovers.
	reg.setSlow(t, big, nil)
	if got := pullID(t, root, "--insecure", ref, "big"); got != id {
		t.Errorf("re-pull printed %s, want %s", got, id)
	}
	if _, err := os.Stat(partial); !os.IsNotExist(err) {
		t.Errorf("the re-pull left %s: %v", partial, err)
	}
	if left := dirNames(t, filepath.Join(root, "tmp")); len(left) != 0 {
		t.Errorf("tmp/ after the re-pull: %v", left)
	}
	verifyOK(t, root, chainIDs, "big")
	if ls := listLayers(t, root); len(ls) != 2 {
		t.Errorf("layers after the re-pull: %+v, want 2", ls)
	}
}

// Two pulls at once of images sharing a base store the base once, and fetch
// it once.
func TestCLIConcurrentPulls(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	base := bigLayer(t, 4, 1<<20)
	imgA, imgB := newImage(t, base, appLayer(t, "first")), newImage(t, base, appLayer(t, "second"))
	idA, _, chainA := imageIDs(t, imgA)
	idB, _, chainB := imageIDs(t, imgB)
	refA := reg.push(t, imgA, "shared/a:latest")
	refB := reg.push(t, imgB, "shared/b:latest")
	// The base takes about half a second, so both pulls are in it together.
	reg.setSlow(t, base, &slowBlob{chunk: 64 << 10, delay: 8 * time.Millisecond})

	root := newRoot(t)
	mustRun(t, root, "info") // the store exists before the race
	type result struct {
		stdout, stderr bytes.Buffer
		done           <-chan error
	}
	var res [2]result
	for i, ref := range []string{refA, refB} {
		cmd := command(root, "pull", "--insecure", ref)
		cmd.Stdout, cmd.Stderr = &res[i].stdout, &res[i].stderr
		res[i].done = startCmd(t, cmd)
	}
	for i, want := range []string{idA, idB} {
		if err := <-res[i].done; err != nil {
			t.Fatalf("pull %d: %v\nstderr: %s", i, err, res[i].stderr.String())
		}
		if got := lastLine(res[i].stdout.String()); got != want {
			t.Errorf("pull %d printed %q, want %s", i, got, want)
		}
	}
	ls := listLayers(t, root)
	if len(ls) != 3 {
		t.Errorf("layers: %+v, want 3: the base once and two tops", ls)
	}
	if l, ok := layerByID(ls, chainA[0]); !ok || l.Refs != 2 {
		t.Errorf("base layer %+v (present %v), want refs 2", l, ok)
	}
	if n := reg.blobGets(t, base); n != 1 {
		t.Errorf("the base blob was fetched %d times, want once", n)
	}
	verifyOK(t, root, chainA, refA)
	verifyOK(t, root, chainB, refB)
	if left := dirNames(t, filepath.Join(root, "tmp")); len(left) != 0 {
		t.Errorf("tmp/ after both pulls: %v", left)
	}
}

// A registry that serves a layer blob other than its digest (same size, one
// byte changed) makes the pull fail in one line, and nothing is published:
// a byte of the gzip header's MTIME (which gunzip ignores, so only the digest
// check catches it) or of the deflate data.
func TestCLIPullTamperedBlob(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		at   func(n int) int
	}{
		{"gzip mtime", func(int) int { return 4 }},
		{"deflate data", func(n int) int { return n / 2 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg := newTestRegistry(t)
			base, top := baseLayer(t, 7), bigLayer(t, 2, 256<<10)
			img := newImage(t, base, top)
			ref := reg.push(t, img, "tampered/app:latest")
			reg.setSlow(t, top, &slowBlob{chunk: 1 << 20})
			reg.mu.Lock()
			sb := reg.slow[layerDigest(t, top)]
			sb.data = bytes.Clone(sb.data)
			sb.data[tc.at(len(sb.data))] ^= 0xff
			reg.mu.Unlock()

			root := newRoot(t)
			mustRun(t, root, "info")
			before := snapshot(t, root)
			_, stderr, code := run(t, root, "pull", "--insecure", ref)
			checkOneLineError(t, stderr, code)
			t.Logf("stderr: %s", stderr)
			// The intact base may stay (a complete layer); the tampered one must not.
			_, _, chainIDs := imageIDs(t, img)
			if _, err := os.Stat(filepath.Join(root, "layers", chainIDs[1].Encoded())); !os.IsNotExist(err) {
				t.Errorf("the tampered layer was published: %v", err)
			}
			after := snapshot(t, root)
			if strings.Join(after.images, " ") != strings.Join(before.images, " ") || after.refs != before.refs {
				t.Errorf("images/ changed: %v %s", after.images, after.refs)
			}
			if left := dirNames(t, filepath.Join(root, "tmp")); len(left) != 0 {
				t.Errorf("tmp/ after the failed pull: %v", left)
			}
		})
	}
}
