package image_test

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	digest "github.com/opencontainers/go-digest"

	"github.com/layerctl/layerctl/pkg/image"
	"github.com/layerctl/layerctl/pkg/image/registrytest"
	"github.com/layerctl/layerctl/pkg/layer"
)

const (
	// smallLimit is the most a pull may read of a manifest, an index or a
	// config.
	smallLimit = 4 << 20
	// pullDeadline is how long a test waits for a pull that must fail
	// quickly before it cancels it and fails.
	pullDeadline = 20 * time.Second
)

// socketSlack is what loopback socket buffers may take in from a flood
// before the client stops reading, which the server counts as sent: at most
// the largest receive and send buffers the kernel's autotuning grows to
// (tcp_rmem and tcp_wmem's maxima; 32 MiB and 4 MiB on some machines),
// well under the 64 MiB floods.
var socketSlack = int64(tcpBufferMax("tcp_rmem", 6<<20) + tcpBufferMax("tcp_wmem", 4<<20))

// tcpBufferMax reads the largest buffer of a net.ipv4 sysctl ("min default
// max"), or def.
func tcpBufferMax(name string, def int) int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/" + name)
	if f := strings.Fields(string(b)); err == nil && len(f) == 3 {
		if n, err := strconv.Atoi(f[2]); err == nil && n > 0 {
			return n
		}
	}
	return def
}

// shortTimeouts make a stalled registry fail a pull at once.
var shortTimeouts = image.Timeouts{Response: 300 * time.Millisecond, Idle: 300 * time.Millisecond}

// layerStore is a store's layers and image records together.
type layerStore struct {
	layers *layer.Store
	images *image.Images
}

func newLayerStore(t testing.TB) layerStore {
	s, im := newStore(t)
	return layerStore{s, im}
}

// pullBounded runs a pull that must end by itself; after pullDeadline it is
// cancelled and the test fails.
func pullBounded(t *testing.T, s layerStore, src string, opts image.PullOptions) error {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		opts.Insecure = true
		_, err := image.Pull(ctx, s.layers, s.images, src, opts)
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(pullDeadline):
		cancel()
		select {
		case err := <-done:
			t.Fatalf("pull %s still running after %v (cancelled: %v)", src, pullDeadline, err)
		case <-time.After(5 * time.Second):
			t.Fatalf("pull %s still running after %v, and cancelling it does not end it", src, pullDeadline)
		}
		return nil
	}
}

// A registry that floods, redirects for ever or stalls fails a pull with a
// clear one-line error: no manifest, index or config is read beyond 4 MiB
// (counted on the server), a redirect loop ends after 10 redirects, a
// stalled response or body ends when the timeout fires. The store keeps
// nothing of the image and pulls a good one afterwards.
func TestPullRegistryLimits(t *testing.T) {
	base := gzipLayer(t, baseTar(t))
	good := registrytest.OCIImage(t, nil, base, gzipLayer(t, appTar(t, "hello\n")))
	evilTop := gzipLayer(t, tarOf(t, dir("evil"), file("evil/x", string(randomish(7, 256<<10)))))
	evil := registrytest.OCIImage(t, nil, base, evilTop)
	hugeClaim := v1.Descriptor{MediaType: types.OCIConfigJSON, Size: 300 << 20, Digest: v1.Hash{Algorithm: "sha256", Hex: digest.FromString("huge").Encoded()}}
	smallClaim := hugeClaim
	smallClaim.Size = 1000

	type target struct {
		src   string
		watch string          // the hostile path
		bad   []digest.Digest // chainIDs that must not be published
		badID digest.Digest   // the image ID that must not be recorded
	}
	// hostileManifest serves a hand-made manifest as h:1, its config
	// misbehaving as m.
	hostileConfig := func(config v1.Descriptor, m misbehaviour) func(t *testing.T, r *hostileRegistry) target {
		return func(t *testing.T, r *hostileRegistry) target {
			r.addManifest("h", "1", rawManifest(t, config))
			path := blobPath("h", config.Digest.String())
			r.misbehave(path, m)
			if config.Size > floodSize {
				r.floodWith(path, int(config.Size)) // the size the manifest claims
			}
			return target{src: r.host + "/h:1", watch: path, badID: digest.Digest(config.Digest.String())}
		}
	}
	hostileManifest := func(m misbehaviour) func(t *testing.T, r *hostileRegistry) target {
		return func(t *testing.T, r *hostileRegistry) target {
			src := r.addImage("h", "1", evil)
			path := manifestPath("h", "1")
			r.misbehave(path, m)
			return target{src: src, watch: path, bad: chainIDsOf(t, evil), badID: configDigest(t, evil)}
		}
	}
	hostileBlob := func(m misbehaviour) func(t *testing.T, r *hostileRegistry) target {
		return func(t *testing.T, r *hostileRegistry) target {
			src := r.addImage("h", "1", evil)
			path := blobPath("h", blobDigest(t, evilTop))
			r.misbehave(path, m)
			return target{src: src, watch: path, bad: chainIDsOf(t, evil)[1:], badID: configDigest(t, evil)}
		}
	}
	hostileConfigOf := func(m misbehaviour) func(t *testing.T, r *hostileRegistry) target {
		return func(t *testing.T, r *hostileRegistry) target {
			src := r.addImage("h", "1", evil)
			path := blobPath("h", configDigest(t, evil).String())
			r.misbehave(path, m)
			return target{src: src, watch: path, bad: chainIDsOf(t, evil), badID: configDigest(t, evil)}
		}
	}
	hostileIndexEntry := func(t *testing.T, r *hostileRegistry) target {
		child := v1.Descriptor{MediaType: types.OCIManifestSchema1, Size: 300 << 20,
			Digest:   v1.Hash{Algorithm: "sha256", Hex: digest.FromString("child").Encoded()},
			Platform: &v1.Platform{OS: "linux", Architecture: runtime.GOARCH}}
		r.addManifest("h", "1", rawIndex(t, child))
		path := manifestPath("h", child.Digest.String())
		r.misbehave(path, flood)
		return target{src: r.host + "/h:1", watch: path, badID: digest.Digest(child.Digest.String())}
	}

	for _, tc := range []struct {
		name        string
		setup       func(t *testing.T, r *hostileRegistry) target
		wantErr     []string
		maxSent     int64 // bytes the hostile path may send (-1: not checked)
		maxRequests int   // requests the hostile path may get (0: not checked)
	}{
		{name: "config claims 300 MiB", setup: hostileConfig(hugeClaim, flood),
			wantErr: []string{"config", "4 MiB"}, maxSent: 0},
		{name: "config claims 1000 bytes, Content-Length 64 MiB", setup: hostileConfig(smallClaim, flood),
			wantErr: []string{"config", "4 MiB"}, maxSent: smallLimit + socketSlack},
		{name: "config claims 1000 bytes, endless chunked body", setup: hostileConfig(smallClaim, floodChunked),
			wantErr: []string{"config", "4 MiB"}, maxSent: smallLimit + socketSlack},
		{name: "manifest of 64 MiB", setup: hostileManifest(flood),
			wantErr: []string{"manifest", "4 MiB"}, maxSent: smallLimit + socketSlack},
		{name: "manifest endless chunked body", setup: hostileManifest(floodChunked),
			wantErr: []string{"manifest", "4 MiB"}, maxSent: smallLimit + socketSlack},
		{name: "index entry claims 300 MiB", setup: hostileIndexEntry,
			wantErr: []string{"manifest", "4 MiB"}, maxSent: smallLimit + socketSlack},
		{name: "manifest redirect loop", setup: hostileManifest(redirectLoop),
			wantErr: []string{"10 redirects"}, maxSent: -1, maxRequests: 11},
		{name: "blob redirect loop", setup: hostileBlob(redirectLoop),
			wantErr: []string{"10 redirects", blobDigest(t, evilTop)}, maxSent: -1, maxRequests: 11},
		{name: "manifest error with newlines and escapes", setup: hostileManifest(noisyError),
			wantErr: []string{"404", "no such"}, maxSent: -1},
		{name: "blob error with newlines and escapes", setup: hostileBlob(noisyError),
			wantErr: []string{"404", "no such", blobDigest(t, evilTop)}, maxSent: -1},
		{name: "manifest stalls before headers", setup: hostileManifest(stallHeaders),
			wantErr: []string{"manifest", "registry sent nothing for 300ms"}, maxSent: -1},
		{name: "manifest stalls mid-body", setup: hostileManifest(stallBody),
			wantErr: []string{"manifest", "registry sent nothing for 300ms"}, maxSent: -1},
		{name: "config stalls mid-body", setup: hostileConfigOf(stallBody),
			wantErr: []string{configDigest(t, evil).String(), "registry sent nothing for 300ms"}, maxSent: -1},
		{name: "blob stalls before headers", setup: hostileBlob(stallHeaders),
			wantErr: []string{blobDigest(t, evilTop), "registry sent nothing for 300ms"}, maxSent: -1},
		{name: "blob stalls mid-body", setup: hostileBlob(stallBody),
			wantErr: []string{blobDigest(t, evilTop), "registry sent nothing for 300ms"}, maxSent: -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := startHostileRegistry(t)
			goodSrc := r.addImage("good", "1", good)
			bad := tc.setup(t, r)
			s := newLayerStore(t)

			err := pullBounded(t, s, bad.src, image.PullOptions{Timeouts: shortTimeouts})
			if err == nil {
				t.Fatalf("pull %s: no error", bad.src)
			}
			t.Logf("pull %s: %v", bad.src, err)
			if strings.ContainsFunc(err.Error(), unicode.IsControl) {
				t.Errorf("error %q has control characters (more than one line?)", err)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			t.Logf("%s: %d requests, %d bytes sent", bad.watch, r.requestsTo(bad.watch), r.sentFrom(bad.watch))
			if tc.maxSent >= floodSize {
				t.Logf("socket buffers of %d bytes could hold the whole flood: bytes sent not checked", socketSlack)
			} else if sent := r.sentFrom(bad.watch); tc.maxSent >= 0 && sent > tc.maxSent {
				t.Errorf("%s sent %d bytes, want at most %d", bad.watch, sent, tc.maxSent)
			}
			if n := r.requestsTo(bad.watch); tc.maxRequests > 0 && n > tc.maxRequests {
				t.Errorf("%s was asked %d times, want at most %d", bad.watch, n, tc.maxRequests)
			}
			checkNothingOf(t, s.layers, s.images, bad.bad, bad.badID)

			rec := mustPull(t, s.layers, s.images, goodSrc, image.PullOptions{Timeouts: shortTimeouts})
			checkPulled(t, s.layers, s.images, rec, good, "")
		})
	}
}
