package image_test

// A hostile registry for the pull limit tests: hand-made manifests and blobs
// on 127.0.0.1, where chosen paths flood, redirect for ever or stall. Every
// handler ends by itself: floods and redirect loops are bounded, stalls end
// when the client goes away, when released, or when the test ends.

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	digest "github.com/opencontainers/go-digest"
)

// misbehaviour is what a hostile path does instead of serving its content.
type misbehaviour int

const (
	behave       misbehaviour = iota
	flood                     // floodSize bytes (or floodWith's), and a Content-Length that says so
	floodChunked              // floodSize bytes with no Content-Length
	redirectLoop              // a redirect to itself, up to maxHops times
	stallHeaders              // nothing at all
	stallBody                 // the headers and half the content, then nothing until released
	noisyError                // a 404 whose body has newlines and terminal escapes
)

const (
	// floodSize is how much a flood sends at most: far more than the 4 MiB
	// a pull may read of a manifest or config.
	floodSize = 64 << 20
	// maxHops bounds a redirect loop, so that a pull that follows redirects
	// without a limit still ends (and fails its test).
	maxHops = 1000
)

type hostileRegistry struct {
	t    testing.TB
	host string
	done chan struct{} // closed when the test ends: stalled handlers return

	mu       sync.Mutex
	content  map[string][]byte       // URL path -> body
	hostile  map[string]misbehaviour // URL path -> what it does instead
	floods   map[string]int          // URL path -> bytes a flood sends (floodSize when unset)
	release  chan struct{}           // closed by unstall: stallBody sends the rest
	requests map[string]int          // URL path -> requests
	sent     map[string]int64        // URL path -> body bytes written
}

func startHostileRegistry(t testing.TB) *hostileRegistry {
	t.Helper()
	r := &hostileRegistry{
		t: t, done: make(chan struct{}), release: make(chan struct{}),
		content: map[string][]byte{}, hostile: map[string]misbehaviour{}, floods: map[string]int{},
		requests: map[string]int{}, sent: map[string]int64{},
	}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(r.done) }) // runs first: stalled handlers end
	r.host = strings.TrimPrefix(srv.URL, "http://")
	return r
}

func manifestPath(repo, ref string) string { return "/v2/" + repo + "/manifests/" + ref }
func blobPath(repo, dgst string) string    { return "/v2/" + repo + "/blobs/" + dgst }

// addManifest serves raw as REPO:TAG and as REPO@DIGEST; it returns the
// manifest's digest.
func (r *hostileRegistry) addManifest(repo, tag string, raw []byte) string {
	d := digest.FromBytes(raw).String()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.content[manifestPath(repo, tag)] = raw
	r.content[manifestPath(repo, d)] = raw
	return d
}

func (r *hostileRegistry) addBlob(repo string, b []byte) string {
	d := digest.FromBytes(b).String()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.content[blobPath(repo, d)] = b
	return d
}

// addImage serves img (manifest, config, layers) as REPO:TAG and returns
// the pull source.
func (r *hostileRegistry) addImage(repo, tag string, img v1.Image) string {
	r.t.Helper()
	raw, err := img.RawManifest()
	if err != nil {
		r.t.Fatal(err)
	}
	config, err := img.RawConfigFile()
	if err != nil {
		r.t.Fatal(err)
	}
	r.addBlob(repo, config)
	layers, err := img.Layers()
	if err != nil {
		r.t.Fatal(err)
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			r.t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			r.t.Fatal(err)
		}
		r.addBlob(repo, b)
	}
	r.addManifest(repo, tag, raw)
	return r.host + "/" + repo + ":" + tag
}

func (r *hostileRegistry) misbehave(path string, m misbehaviour) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hostile[path] = m
}

// floodWith makes a flood of path send (and claim) size bytes.
func (r *hostileRegistry) floodWith(path string, size int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.floods[path] = size
}

// unstall lets every stallBody handler send the rest of its content.
func (r *hostileRegistry) unstall() { close(r.release) }

func (r *hostileRegistry) requestsTo(path string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests[path]
}

func (r *hostileRegistry) sentFrom(path string) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sent[path]
}

func (r *hostileRegistry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	path := req.URL.Path
	r.mu.Lock()
	r.requests[path]++
	hops := r.requests[path]
	body, ok := r.content[path]
	m := r.hostile[path]
	size, ok2 := r.floods[path]
	r.mu.Unlock()
	if !ok2 {
		size = floodSize
	}
	if path == "/v2/" {
		w.WriteHeader(http.StatusOK)
		return
	}
	cw := &countingWriter{w: w, count: func(n int) { r.mu.Lock(); r.sent[path] += int64(n); r.mu.Unlock() }}
	switch m {
	case flood, floodChunked:
		if m == flood {
			w.Header().Set("Content-Length", strconv.Itoa(size))
		}
		w.WriteHeader(http.StatusOK)
		chunk := bytes.Repeat([]byte(" "), 32<<10)
		for n := 0; n < size; n += len(chunk) {
			if _, err := cw.Write(chunk[:min(len(chunk), size-n)]); err != nil {
				return
			}
		}
		return
	case redirectLoop:
		if hops > maxHops {
			http.NotFound(w, req)
			return
		}
		http.Redirect(w, req, path+"?hop="+strconv.Itoa(hops), http.StatusFound)
		return
	case noisyError:
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, "no\nsuch\r\n\x1b[2J\x1b]0;owned\athing\n")
		return
	case stallHeaders:
		select {
		case <-req.Context().Done():
		case <-r.done:
		}
		return
	}
	if !ok {
		http.NotFound(w, req)
		return
	}
	if strings.Contains(path, "/manifests/") {
		var mt struct {
			MediaType string `json:"mediaType"`
		}
		json.Unmarshal(body, &mt)
		w.Header().Set("Content-Type", mt.MediaType)
		w.Header().Set("Docker-Content-Digest", digest.FromBytes(body).String())
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if m == stallBody {
		cw.Write(body[:len(body)/2])
		w.(http.Flusher).Flush()
		select {
		case <-req.Context().Done():
			return
		case <-r.done:
			return
		case <-r.release:
		}
		body = body[len(body)/2:]
	}
	cw.Write(body)
}

type countingWriter struct {
	w     io.Writer
	count func(int)
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.count(n)
	return n, err
}

// rawManifest is an OCI manifest by hand: any config and layer descriptors,
// true or not.
func rawManifest(t testing.TB, config v1.Descriptor, layers ...v1.Descriptor) []byte {
	t.Helper()
	if layers == nil {
		layers = []v1.Descriptor{}
	}
	b, err := json.Marshal(v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, Config: config, Layers: layers})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawIndex is an OCI index by hand listing the given manifests.
func rawIndex(t testing.TB, manifests ...v1.Descriptor) []byte {
	t.Helper()
	b, err := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: manifests})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// descriptorOf describes b as the given media type.
func descriptorOf(t testing.TB, mt types.MediaType, b []byte) v1.Descriptor {
	t.Helper()
	h, err := v1.NewHash(digest.FromBytes(b).String())
	if err != nil {
		t.Fatal(err)
	}
	return v1.Descriptor{MediaType: mt, Size: int64(len(b)), Digest: h}
}
