package image_test

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/layerctl/layerctl/pkg/image"
	"github.com/layerctl/layerctl/pkg/image/registrytest"
)

// trapRegistry is an in-memory registry whose handler serves one blob with
// corrupt bytes and makes another hang until its client goes away (or the
// test ends), before or after sending the headers and half the body.
type trapRegistry struct {
	host      string
	corrupt   string // blob digest served with its gzip OS byte flipped
	stall     string // blob digest that hangs
	midBody   bool   // stall after the headers and half the body
	release   chan struct{}
	abandoned chan struct{} // closed when the stalled request's client is gone
}

func startTrapRegistry(t *testing.T) *trapRegistry {
	t.Helper()
	r := &trapRegistry{release: make(chan struct{}), abandoned: make(chan struct{})}
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, dgst, isBlob := strings.Cut(req.URL.Path, "/blobs/")
		if !isBlob || req.Method != http.MethodGet || dgst != r.corrupt && dgst != r.stall {
			inner.ServeHTTP(w, req)
			return
		}
		rec := httptest.NewRecorder()
		inner.ServeHTTP(rec, req)
		body := rec.Body.Bytes()
		if dgst == r.corrupt {
			// The gzip header's OS byte: the blob still decompresses to
			// the same tar, only its digest is wrong.
			body = slices.Clone(body)
			body[9] ^= 0xff
		}
		if dgst == r.stall && !r.midBody {
			r.hang(req)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		if dgst == r.stall {
			w.Write(body[:len(body)/2])
			w.(http.Flusher).Flush()
			r.hang(req)
			return
		}
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(r.release) }) // runs first: hanging handlers end
	r.host = strings.TrimPrefix(srv.URL, "http://")
	return r
}

func (r *trapRegistry) hang(req *http.Request) {
	select {
	case <-req.Context().Done():
		close(r.abandoned)
	case <-r.release:
	}
}

// When one layer fails, the pull cancels the other downloads at once, even
// one whose registry stalls for ever, and fails with the first layer's
// error; nothing is published.
func TestPullFailedLayerCancelsOthers(t *testing.T) {
	big := func(seed int64) []byte {
		var entries []entry
		for i := range 8 {
			entries = append(entries, file("f"+strconv.Itoa(i), string(randomish(seed+int64(i), 64<<10))))
		}
		return tarOf(t, entries...)
	}
	l0, l1 := gzipLayer(t, big(1)), gzipLayer(t, big(100))
	img := registrytest.OCIImage(t, nil, l0, l1)
	layers := []v1.Layer{l0, l1}

	for _, tc := range []struct {
		name           string
		corrupt, stall int
		midBody        bool
	}{
		{"base corrupt, top stalls before headers", 0, 1, false},
		{"base corrupt, top stalls mid-body", 0, 1, true},
		{"top corrupt, base stalls before headers", 1, 0, false},
		{"top corrupt, base stalls mid-body", 1, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := startTrapRegistry(t)
			ref, err := name.ParseReference(reg.host+"/trap:1", name.Insecure)
			if err != nil {
				t.Fatal(err)
			}
			if err := remote.Write(ref, img); err != nil {
				t.Fatal(err)
			}
			reg.corrupt = blobDigest(t, layers[tc.corrupt])
			reg.stall = blobDigest(t, layers[tc.stall])
			reg.midBody = tc.midBody
			s, im := newStore(t)

			type result struct {
				err     error
				elapsed time.Duration
			}
			done := make(chan result, 1)
			go func() {
				start := time.Now()
				_, err := image.Pull(t.Context(), s, im, ref.String(), image.PullOptions{Insecure: true})
				done <- result{err, time.Since(start)}
			}()
			var res result
			select {
			case res = <-done:
			case <-time.After(15 * time.Second):
				t.Fatal("pull still running after 15s: the stalled download was not cancelled")
			}
			t.Logf("pull failed after %v: %v", res.elapsed, res.err)
			if res.err == nil {
				t.Fatal("pull of an image with a corrupt layer succeeded")
			}
			if !strings.Contains(res.err.Error(), reg.corrupt) {
				t.Errorf("error %q does not name the corrupt blob %s", res.err, reg.corrupt)
			}
			if res.elapsed > 3*time.Second {
				t.Errorf("pull took %v to fail, want well under 3s", res.elapsed)
			}
			select {
			case <-reg.abandoned:
			case <-time.After(5 * time.Second):
				t.Error("the stalled blob request was never abandoned")
			}
			checkNothingOf(t, s, im, chainIDsOf(t, img), configDigest(t, img))
			if got := listedChainIDs(t, s); len(got) != 0 {
				t.Errorf("layers %v published", got)
			}
		})
	}
}

// randomish is n bytes of seeded, incompressible-enough content.
func randomish(seed int64, n int) []byte {
	b := make([]byte, n)
	x := uint64(seed)*0x9e3779b97f4a7c15 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x)
	}
	return b
}
