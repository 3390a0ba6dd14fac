package main

// End-to-end tests of the real layerctl binary: TestMain builds it once, and
// every test runs it against its own store under a temporary directory.

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/layerctl/layerctl/pkg/image/registrytest"
	digest "github.com/opencontainers/go-digest"
)

// binPath is the layerctl binary TestMain built.
var binPath string

// dockerConfig is an empty Docker config directory, so that no test reads the
// credentials of the machine it runs on.
var dockerConfig string

// runTimeout bounds one layerctl run; a hang fails the test instead of the
// whole package.
const runTimeout = 60 * time.Second

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "layerctl-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		binPath = filepath.Join(dir, "layerctl")
		dockerConfig = filepath.Join(dir, "docker")
		if err := os.Mkdir(dockerConfig, 0o700); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		// The static binary exactly as `make build` makes it: the
		// Makefile holds the flags.
		build := exec.Command("make", "--no-print-directory", "-C", "../..", "build", "BIN="+binPath)
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build layerctl: %v\n%s", err, out)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}

// testEnv is the environment layerctl runs with: ours without LAYERCTL_*
// (flags are the only configuration) and with an empty Docker config.
func testEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LAYERCTL_") && !strings.HasPrefix(kv, "DOCKER_CONFIG=") {
			env = append(env, kv)
		}
	}
	return append(env, "DOCKER_CONFIG="+dockerConfig)
}

// command prepares layerctl --root root args... for the caller to start.
func command(root string, args ...string) *exec.Cmd {
	cmd := exec.Command(binPath, append([]string{"--root", root}, args...)...)
	cmd.Env = testEnv()
	return cmd
}

// run runs layerctl --root root args... to the end and returns its output and
// exit code.
func run(t *testing.T, root string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, append([]string{"--root", root}, args...)...)
	cmd.Env = testEnv()
	cmd.WaitDelay = 5 * time.Second
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ctx.Err() == nil:
		code = ee.ExitCode()
	default:
		t.Fatalf("layerctl %s: %v (stderr: %s)", strings.Join(args, " "), err, errOut.String())
	}
	return out.String(), errOut.String(), code
}

// mustRun runs layerctl and fails the test unless it exits 0; it returns stdout.
func mustRun(t *testing.T, root string, args ...string) string {
	t.Helper()
	out, errOut, code := run(t, root, args...)
	if code != 0 {
		t.Fatalf("layerctl %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// pullID runs a pull and returns the image ID it printed last.
func pullID(t *testing.T, root string, args ...string) string {
	t.Helper()
	out := mustRun(t, root, append([]string{"pull"}, args...)...)
	id := lastLine(out)
	if !strings.HasPrefix(id, "sha256:") || digest.Digest(id).Validate() != nil {
		t.Fatalf("pull %s: last stdout line %q is no image ID", strings.Join(args, " "), id)
	}
	return id
}

// checkOneLineError asserts the CLI contract for a failure: exit code 1 and
// exactly one stderr line "layerctl: <what failed>: <why>", no panic.
func checkOneLineError(t *testing.T, stderr string, code int) {
	t.Helper()
	if code != 1 {
		t.Errorf("exit code %d, want 1 (stderr: %q)", code, stderr)
	}
	if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") {
		t.Errorf("stderr has a panic or goroutine dump:\n%s", stderr)
	}
	if !strings.HasSuffix(stderr, "\n") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("stderr is not exactly one line: %q", stderr)
	}
	line := strings.TrimSuffix(stderr, "\n")
	rest, ok := strings.CutPrefix(line, "layerctl: ")
	if !ok {
		t.Errorf("stderr %q does not start with %q", line, "layerctl: ")
		return
	}
	if what, why, ok := strings.Cut(rest, ": "); !ok || what == "" || why == "" {
		t.Errorf("stderr %q is not of the form %q", line, "layerctl: <what failed>: <why>")
	}
}

// newRoot is a fresh store directory, removed with the test.
func newRoot(t *testing.T) string {
	return filepath.Join(t.TempDir(), "store")
}

// --- test images ---

// entry is one tar entry of a test layer.
type entry struct {
	name string
	typ  byte // tar.TypeReg when 0
	body []byte
	link string
	mode int64
}

func dir(name string) entry        { return entry{name: name, typ: tar.TypeDir, mode: 0o755} }
func file(name, body string) entry { return entry{name: name, body: []byte(body), mode: 0o644} }
func symlink(name, to string) entry {
	return entry{name: name, typ: tar.TypeSymlink, link: to, mode: 0o777}
}
func binFile(name string, b []byte) entry { return entry{name: name, body: b, mode: 0o755} }

// randomBytes are n bytes of seeded pseudo-random content: incompressible and
// the same for the same seed.
func randomBytes(seed int64, n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

// layerTar is the uncompressed tar of entries.
func layerTar(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Unix(1700000000, 0)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: e.mode, Linkname: e.link, ModTime: mtime, Format: tar.FormatPAX}
		if hdr.Typeflag == 0 {
			hdr.Typeflag = tar.TypeReg
		}
		if hdr.Typeflag == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// newLayer is a gzip layer of entries.
func newLayer(t testing.TB, entries ...entry) v1.Layer {
	t.Helper()
	raw := layerTar(t, entries...)
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(raw)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// baseLayer is a small root filesystem; seed makes its content differ.
func baseLayer(t testing.TB, seed int64) v1.Layer {
	return newLayer(t,
		dir("bin/"), dir("etc/"), dir("usr/"), dir("usr/lib/"),
		binFile("bin/tool", randomBytes(seed, 64<<10)),
		symlink("bin/sh", "tool"),
		file("etc/hostname", "base\n"),
		file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
		file("usr/lib/data", fmt.Sprintf("base %d\n", seed)),
	)
}

// appLayer goes over baseLayer: new files, a changed one and a whiteout.
func appLayer(t testing.TB, name string) v1.Layer {
	return newLayer(t,
		dir("app/"),
		file("app/"+name, "app "+name+"\n"),
		binFile("app/blob", randomBytes(int64(len(name))*7919, 32<<10)),
		dir("etc/"),
		file("etc/motd", "welcome to "+name+"\n"),
		file("etc/.wh.hostname", ""),
	)
}

// newImage stacks layers (base first) into an OCI image for this machine,
// with a shell for its command.
func newImage(t testing.TB, layers ...v1.Layer) v1.Image {
	t.Helper()
	return registrytest.OCIImage(t, func(cf *v1.ConfigFile) {
		cf.Config.Cmd = []string{"/bin/sh"}
		cf.Config.Env = []string{"PATH=/bin"}
	}, layers...)
}

// writeLayout writes img into a new OCI layout, tagged tag, and returns its
// directory.
func writeLayout(t testing.TB, img v1.Image, tag string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "layout")
	registrytest.WriteLayout(t, dir, img, tag)
	return dir
}

// imageIDs are an image's ID (config digest) and its layers' diffIDs and
// chainIDs, as the store must record them.
func imageIDs(t testing.TB, img v1.Image) (id string, diffIDs, chainIDs []digest.Digest) {
	t.Helper()
	h, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	var parent digest.Digest
	for _, d := range cf.RootFS.DiffIDs {
		diffID := digest.Digest(d.String())
		chain := diffID
		if parent != "" {
			chain = digest.FromString(parent.String() + " " + diffID.String())
		}
		diffIDs = append(diffIDs, diffID)
		chainIDs = append(chainIDs, chain)
		parent = chain
	}
	return h.String(), diffIDs, chainIDs
}

// --- looking at a store ---

// layerRow is one element of `layers --format json`.
type layerRow struct {
	ChainID digest.Digest
	DiffID  digest.Digest
	Parent  digest.Digest
	Size    int64
	Refs    int
}

func listLayers(t *testing.T, root string) []layerRow {
	t.Helper()
	var rows []layerRow
	out := mustRun(t, root, "layers", "--format", "json")
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("layers --format json: %v\n%s", err, out)
	}
	return rows
}

func layerByID(rows []layerRow, id digest.Digest) (layerRow, bool) {
	for _, r := range rows {
		if r.ChainID == id {
			return r, true
		}
	}
	return layerRow{}, false
}

// dirNames lists a directory's entries, sorted; a missing directory is empty.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	names := []string{}
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// storeState is what a failed command must leave unchanged.
type storeState struct {
	layers, images []string
	refs           string
}

func snapshot(t *testing.T, root string) storeState {
	t.Helper()
	refs, _ := os.ReadFile(filepath.Join(root, "images", "refs.json"))
	return storeState{
		layers: dirNames(t, filepath.Join(root, "layers")),
		images: dirNames(t, filepath.Join(root, "images")),
		refs:   string(refs),
	}
}

// checkUnchanged asserts that layers/ and images/ are as before and tmp/ is empty.
func checkUnchanged(t *testing.T, root string, before storeState) {
	t.Helper()
	after := snapshot(t, root)
	if strings.Join(after.layers, " ") != strings.Join(before.layers, " ") {
		t.Errorf("layers/ changed: %v, was %v", after.layers, before.layers)
	}
	if strings.Join(after.images, " ") != strings.Join(before.images, " ") {
		t.Errorf("images/ changed: %v, was %v", after.images, before.images)
	}
	if after.refs != before.refs {
		t.Errorf("images/refs.json changed:\n%s\nwas:\n%s", after.refs, before.refs)
	}
	if left := dirNames(t, filepath.Join(root, "tmp")); len(left) != 0 {
		t.Errorf("tmp/ is not empty: %v", left)
	}
}

// verifyOK runs verify args... and checks one "<chainID> ok" line per wanted layer.
func verifyOK(t *testing.T, root string, want []digest.Digest, args ...string) {
	t.Helper()
	out := mustRun(t, root, append([]string{"verify"}, args...)...)
	var wantLines []string
	for _, id := range want {
		wantLines = append(wantLines, id.String()+" ok")
	}
	got := strings.Split(strings.TrimRight(out, "\n"), "\n")
	sort.Strings(got)
	sort.Strings(wantLines)
	if strings.Join(got, "\n") != strings.Join(wantLines, "\n") {
		t.Errorf("verify %s printed:\n%s\nwant:\n%s", strings.Join(args, " "), out, strings.Join(wantLines, "\n"))
	}
}
