package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"
)

// hostileManifests is a registry that serves one hand-made manifest per
// repository as :1, and answers everything else by what its repository is
// called: "loop" redirects each request to itself (at most 1000 times),
// "noisy" fails with a body of newlines and terminal escapes.
type hostileManifests struct {
	host string

	mu       sync.Mutex
	requests map[string]int // URL path -> requests
}

func startHostileManifests(t *testing.T, manifests map[string][]byte) *hostileManifests {
	t.Helper()
	r := &hostileManifests{requests: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.requests[req.URL.Path]++
		n := r.requests[req.URL.Path]
		r.mu.Unlock()
		repo, _, _ := strings.Cut(strings.TrimPrefix(req.URL.Path, "/v2/"), "/")
		switch {
		case req.URL.Path == "/v2/":
		case repo == "loop" && n <= 1000:
			http.Redirect(w, req, req.URL.Path+"?hop="+strconv.Itoa(n), http.StatusFound)
		case repo == "noisy":
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte("no\nsuch\r\n\x1b[2J\x1b]0;owned\athing\n"))
		case manifests[repo] != nil && req.URL.Path == "/v2/"+repo+"/manifests/1":
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			w.Write(manifests[repo])
		default:
			http.NotFound(w, req)
		}
	}))
	t.Cleanup(srv.Close)
	r.host = strings.TrimPrefix(srv.URL, "http://")
	return r
}

func (r *hostileManifests) requestsTo(path string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests[path]
}

// A hostile registry fails "layerctl pull" with one line on stderr,
// "layerctl: pull SRC: ...", that says what went wrong, and the store stays
// empty and usable.
func TestCLIPullHostileRegistry(t *testing.T) {
	t.Parallel()
	huge, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json",
			"digest": digest.FromString("huge").String(), "size": 300 << 20},
		"layers": []any{},
	})
	r := startHostileManifests(t, map[string][]byte{"huge": huge})
	root := newRoot(t)
	for _, tc := range []struct {
		repo, want string
	}{
		{"loop", "stopped after 10 redirects"},
		{"huge", "claims 314572800 bytes: larger than the 4 MiB allowed"},
		{"noisy", "404 Not Found: no such"},
	} {
		src := r.host + "/" + tc.repo + ":1"
		_, stderr, code := run(t, root, "pull", "--insecure", src)
		t.Logf("pull %s: %q", src, stderr)
		checkOneLineError(t, stderr, code)
		if !strings.HasPrefix(stderr, "layerctl: pull "+src+": ") {
			t.Errorf("stderr %q does not start with %q", stderr, "layerctl: pull "+src+": ")
		}
		if !strings.Contains(stderr, tc.want) {
			t.Errorf("stderr %q does not say %q", stderr, tc.want)
		}
		if strings.ContainsAny(stderr, "\x1b\r\a") {
			t.Errorf("stderr %q has control characters", stderr)
		}
	}
	if n := r.requestsTo("/v2/loop/manifests/1"); n > 11 {
		t.Errorf("the redirect loop was followed %d times, want at most 11 requests", n)
	}
	if out := mustRun(t, root, "layers"); strings.Count(out, "\n") > 1 {
		t.Errorf("layers after the failed pulls:\n%s", out)
	}
	checkTmpEmpty(t, root)
}

// runWithin runs layerctl and fails the test unless it exits 0 within d.
func runWithin(t *testing.T, d time.Duration, root string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, append([]string{"--root", root}, args...)...)
	cmd.Env = testEnv()
	cmd.WaitDelay = time.Second
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			t.Fatalf("layerctl %s still running after %v", strings.Join(args, " "), d)
		}
		t.Fatalf("layerctl %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String()
}

// While a pull hangs on a stalled registry, gc, rmi and another pull
// finish: the pull holds the store lock only around its local steps. gc
// keeps the stalled pull's published base layer, and once the stalled pull
// is killed the store verifies.
func TestCLIGCBesideStalledPull(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	base := baseLayer(t, 11)
	big := bigLayer(t, 8, 256<<10)
	stalled := newImage(t, base, big)
	_, _, stalledChains := imageIDs(t, stalled)
	ref := reg.push(t, stalled, "stall/big:latest")
	reg.setSlow(t, big, &slowBlob{chunk: 64 << 10})
	reg.mu.Lock()
	sb := reg.slow[layerDigest(t, big)]
	sb.stallAt = len(sb.data) / 2
	reg.mu.Unlock()
	victim := newImage(t, baseLayer(t, 12))
	_, _, victimChains := imageIDs(t, victim)
	other := newImage(t, base, appLayer(t, "other"))
	_, _, otherChains := imageIDs(t, other)

	root := newRoot(t)
	pullID(t, root, "oci:"+writeLayout(t, victim, "latest"), "victim")
	cmd := command(root, "pull", "--insecure", ref, "big")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	done := startCmd(t, cmd)
	for deadline := time.Now().Add(30 * time.Second); ; {
		if _, ok := partialLayer(root); ok {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the stalling pull ended: %v\nstderr: %s", err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the pull never reached the stalling blob")
		}
	}

	runWithin(t, 15*time.Second, root, "gc")
	runWithin(t, 15*time.Second, root, "rmi", "victim")
	runWithin(t, 15*time.Second, root, "pull", "oci:"+writeLayout(t, other, "latest"), "other")
	layers := listLayers(t, root)
	if _, ok := layerByID(layers, stalledChains[0]); !ok {
		t.Errorf("gc removed the base layer the stalled pull published and needs")
	}
	if _, ok := layerByID(layers, victimChains[0]); ok {
		t.Errorf("rmi left the victim's layer")
	}
	select {
	case err := <-done:
		t.Fatalf("the stalled pull ended early: %v\nstderr: %s", err, stderr.String())
	default:
	}
	cmd.Process.Kill() // by the PID we started
	if err := <-done; !errors.As(err, new(*exec.ExitError)) {
		t.Fatalf("the stalled pull: %v", err)
	}
	runWithin(t, 15*time.Second, root, "gc")
	verifyOK(t, root, otherChains)
	checkTmpEmpty(t, root)
}

func checkTmpEmpty(t *testing.T, root string) {
	t.Helper()
	if left := dirNames(t, filepath.Join(root, "tmp")); len(left) != 0 {
		t.Errorf("tmp/ is not empty: %v", left)
	}
}
