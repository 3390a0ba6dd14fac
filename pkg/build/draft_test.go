package build_test

import (
	"archive/tar"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"

	"github.com/layerctl/layerctl/pkg/build"
	"github.com/layerctl/layerctl/pkg/container"
)

// draftDockerfile has COPY and ADD steps of every kind, each marked with
// whether it writes a draft layer (d) or goes through a container (c).
var draftDockerfile = []struct {
	step  string
	draft bool
}{
	{"COPY files /files", true},                                             // dirs, symlinks inside, hardlinked names
	{"COPY top.txt /", true},                                                // into the root
	{"COPY top.txt files/sub/ /etc/", true},                                 // into the -init layer's /etc
	{"COPY --chmod=640 --chown=1000:1001 top.txt /usr/bin/deep/new/", true}, // below a dir of the base
	{"COPY --chown=nobody top.txt /owned/", false},                          // a name: looked up in the image
	{"COPY *.txt /glob/", true},                                             // wildcards
	{"COPY top.txt /etc/passwd", true},                                      // over a file of the base
	{"COPY top.txt /bin/sh", false},                                         // over a symlink of the base
	{"COPY files /bin/", true},                                              // into a dir of the base
	{"ADD arch.tar /unpacked/", true},                                       // tar extraction
	{"ADD arch.tar /etc/", true},                                            // into an existing dir
	{"COPY top.txt /proc/x/", false},                                        // an -init layer path
	{"COPY files/sub /files/sub/", true},
	{"COPY files/sub files/sub/ /twice/", true}, // the second source's files replace the first's                                    // over dirs an earlier step made
}

// TestCopyDraftSameLayers builds one Dockerfile with COPY written into
// draft layers and with every COPY through a container: the images (config,
// so every diffID) must be the same.
func TestCopyDraftSameLayers(t *testing.T) {
	df := "FROM busybox\n"
	var want []bool
	for _, s := range draftDockerfile {
		df += s.step + "\n"
		want = append(want, s.draft)
	}
	dir := writeContext(t, map[string]string{
		"Dockerfile":     df,
		"top.txt":        "top\n",
		"other.txt":      "other\n",
		"files/a":        "a\n",
		"files/sub/b":    "b\n",
		"files/sub/to-a": "->../a",
		"files/empty/.k": "",
		"files/exec.sh":  "#!/bin/sh\n",
	})
	if err := os.Link(filepath.Join(dir, "files/a"), filepath.Join(dir, "files/sub/hard-a")); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(dir, "files/exec.sh"), 0o4755)
	writeArchive(t, filepath.Join(dir, "arch.tar"))
	// Context mtimes before the clamp are kept; the base's are 2023's, so
	// a copied-up directory's own mtime shows, and "now" is clamped.
	old := time.Date(2020, 1, 2, 3, 4, 5, 600, time.UTC)
	filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error { return os.Chtimes(p, old, old) })
	epoch := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)

	ids := map[bool]string{}
	for _, containerOnly := range []bool{true, false} {
		var via []bool
		build.CopyHooks(t, containerOnly, func(d bool) { via = append(via, d) })
		s := newStore(t)
		id, progress, err := buildIn(t.Context(), s, dir, build.Options{NoCache: true, Epoch: &epoch})
		if err != nil {
			t.Fatalf("build (containerOnly %v): %v\n%s", containerOnly, err, progress)
		}
		ids[containerOnly] = id.String()
		if !containerOnly && !slices.Equal(via, want) {
			t.Errorf("steps written as drafts %v, want %v", via, want)
		}
		if containerOnly {
			continue
		}
		cfg := configOf(t, s, id.String())
		var chain []digest.Digest
		for _, h := range cfg.RootFS.DiffIDs {
			chain = append(chain, digest.Digest(h.String()))
		}
		for _, c := range container.ChainIDs(chain) {
			if err := s.Verify(t.Context(), c); err != nil {
				t.Errorf("verify layer %s: %v", c, err)
			}
		}
		if got := runIn(t, s, id.String(), "cat", "/files/sub/hard-a", "/usr/bin/deep/new/top.txt", "/unpacked/d/h"); got != "a\ntop\nin tar\n" {
			t.Errorf("files read in a container: %q", got)
		}
	}
	if ids[true] != ids[false] {
		t.Errorf("image through containers %s, through drafts %s: want the same", ids[true], ids[false])
	}
}

// writeArchive writes a tar with a dir, a file, a symlink and a hardlink.
func writeArchive(t *testing.T, name string) {
	t.Helper()
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	mt := time.Unix(1600000000, 0)
	for _, h := range []*tar.Header{
		{Name: "d/", Typeflag: tar.TypeDir, Mode: 0o750, Uid: 7, Gid: 8, ModTime: mt},
		{Name: "d/f", Typeflag: tar.TypeReg, Mode: 0o644, Size: 7, ModTime: mt},
		{Name: "d/s", Typeflag: tar.TypeSymlink, Linkname: "f", ModTime: mt},
		{Name: "d/h", Typeflag: tar.TypeLink, Linkname: "d/f", ModTime: mt},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			tw.Write([]byte("in tar\n"))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}
