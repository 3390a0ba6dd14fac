package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

// fields splits every line of a table into its columns.
func tableRows(out string) [][]string {
	var rows [][]string
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		rows = append(rows, strings.Fields(line))
	}
	return rows
}

func TestCLIHappyPath(t *testing.T) {
	t.Parallel()
	root := newRoot(t)
	img := newImage(t, baseLayer(t, 1), appLayer(t, "happy"))
	wantID, diffIDs, chainIDs := imageIDs(t, img)
	dir := writeLayout(t, img, "latest")

	id := pullID(t, root, "oci:"+dir+":latest", "happy:1.0")
	if id != wantID {
		t.Fatalf("pull printed ID %s, the image's config digest is %s", id, wantID)
	}
	hex := digest.Digest(id).Encoded()

	// images: table and JSON.
	rows := tableRows(mustRun(t, root, "images"))
	if got := strings.Join(rows[0], " "); got != "REPOSITORY TAG IMAGE-ID LAYERS SIZE" {
		t.Errorf("images header %q", got)
	}
	if len(rows) != 2 || len(rows[1]) != 5 || rows[1][0] != "happy" || rows[1][1] != "1.0" ||
		rows[1][2] != hex[:12] || rows[1][3] != "2" {
		t.Errorf("images rows %q, want one row: happy 1.0 %s 2 SIZE", rows, hex[:12])
	}
	var images []map[string]any
	out := mustRun(t, root, "images", "--format", "json")
	if err := json.Unmarshal([]byte(out), &images); err != nil {
		t.Fatalf("images --format json is no JSON array: %v\n%s", err, out)
	}
	if len(images) != 1 || images[0]["Id"] != id {
		t.Errorf("images --format json = %s, want one image %s", out, id)
	}

	// inspect by name, full ID, ID without sha256: and unique prefix.
	var first string
	for _, ref := range []string{"happy:1.0", id, hex, hex[:12], "sha256:" + hex[:8]} {
		out := mustRun(t, root, "inspect", ref)
		if first == "" {
			first = out
			checkInspect(t, out, id, diffIDs, chainIDs)
		} else if out != first {
			t.Errorf("inspect %s differs from inspect happy:1.0:\n%s", ref, out)
		}
	}

	// layers: table and JSON.
	rows = tableRows(mustRun(t, root, "layers"))
	if got := strings.Join(rows[0], " "); got != "CHAIN-ID DIFF-ID PARENT SIZE REFS" {
		t.Errorf("layers header %q", got)
	}
	if len(rows) != 3 {
		t.Fatalf("layers table %q, want 2 rows", rows)
	}
	for _, r := range rows[1:] {
		switch r[0] {
		case chainIDs[0].Encoded()[:12]:
			if r[1] != diffIDs[0].Encoded()[:12] || r[2] != "-" || r[len(r)-1] != "1" {
				t.Errorf("base layer row %q", r)
			}
		case chainIDs[1].Encoded()[:12]:
			if r[1] != diffIDs[1].Encoded()[:12] || r[2] != chainIDs[0].Encoded()[:12] || r[len(r)-1] != "1" {
				t.Errorf("top layer row %q", r)
			}
		default:
			t.Errorf("unexpected layer row %q", r)
		}
	}
	ls := listLayers(t, root)
	if len(ls) != 2 {
		t.Fatalf("layers --format json: %+v, want 2 layers", ls)
	}
	for i, c := range chainIDs {
		l, ok := layerByID(ls, c)
		var parent digest.Digest
		if i > 0 {
			parent = chainIDs[i-1]
		}
		if !ok || l.DiffID != diffIDs[i] || l.Parent != parent || l.Refs != 1 || l.Size <= 0 {
			t.Errorf("layer %d: %+v, want chainID %s diffID %s parent %q refs 1", i, l, c, diffIDs[i], parent)
		}
	}

	verifyOK(t, root, chainIDs, "happy:1.0")
	verifyOK(t, root, chainIDs) // every layer
	verifyOK(t, root, chainIDs[1:], chainIDs[1].String())

	info := mustRun(t, root, "info")
	if want := defaultDriver(t); !regexp.MustCompile(`(?m)^Driver:\s+` + want + `$`).MatchString(info) {
		t.Errorf("info does not say Driver: %s:\n%s", want, info)
	}

	// rmi removes the image and its layers.
	if out := mustRun(t, root, "rmi", "happy:1.0"); out != "Untagged: happy:1.0\nDeleted: "+id+"\n" {
		t.Errorf("rmi printed %q, want %s", out, id)
	}
	if rows := tableRows(mustRun(t, root, "images")); len(rows) != 1 {
		t.Errorf("images after rmi: %q, want the header only", rows)
	}
	if out := strings.TrimSpace(mustRun(t, root, "images", "--format", "json")); out != "[]" {
		t.Errorf("images --format json after rmi: %s, want []", out)
	}
	if ls := listLayers(t, root); len(ls) != 0 {
		t.Errorf("layers after rmi: %+v, want none", ls)
	}
	if names := dirNames(t, filepath.Join(root, "layers")); len(names) != 0 {
		t.Errorf("layers/ after rmi: %v", names)
	}
	if _, stderr, code := run(t, root, "inspect", id); code == 0 {
		t.Errorf("inspect %s after rmi succeeded", id)
	} else {
		checkOneLineError(t, stderr, code)
	}

	out = mustRun(t, root, "gc")
	if !strings.Contains(out, "freed") {
		t.Errorf("gc printed %q", out)
	}
	if names := dirNames(t, filepath.Join(root, "blobs", "sha256")); len(names) != 0 {
		t.Errorf("blobs after rmi and gc: %v", names)
	}
	if names := dirNames(t, filepath.Join(root, "tmp")); len(names) != 0 {
		t.Errorf("tmp/ after gc: %v", names)
	}
}

// defaultDriver is the driver a new store gets here: overlay where the kernel
// has it (as root on Linux, the normal case), else aufs, else vfs.
func defaultDriver(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("/proc/filesystems")
	if err != nil {
		t.Fatal(err)
	}
	fs := map[string]bool{}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			fs[f[len(f)-1]] = true
		}
	}
	switch {
	case fs["overlay"]:
		return "overlay"
	case fs["aufs"]:
		return "aufs"
	}
	return "vfs"
}

// checkInspect checks the fields the CLI contract promises for an image.
func checkInspect(t *testing.T, out, id string, diffIDs, chainIDs []digest.Digest) {
	t.Helper()
	var got struct {
		ID       string `json:"Id"`
		RepoTags []string
		RootFS   struct{ Layers []digest.Digest }
		ChainIDs []digest.Digest
		Config   struct {
			OS           string `json:"os"`
			Architecture string `json:"architecture"`
			RootFS       struct {
				DiffIDs []digest.Digest `json:"diff_ids"`
			} `json:"rootfs"`
			Config struct{ Cmd []string } `json:"config"`
		}
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("inspect: %v\n%s", err, out)
	}
	if got.ID != id {
		t.Errorf("inspect Id %q, want %s", got.ID, id)
	}
	if !slices.Equal(got.RepoTags, []string{"happy:1.0"}) {
		t.Errorf("inspect RepoTags %q, want [happy:1.0]", got.RepoTags)
	}
	if !slices.Equal(got.RootFS.Layers, diffIDs) {
		t.Errorf("inspect RootFS.Layers %v, want %v", got.RootFS.Layers, diffIDs)
	}
	if !slices.Equal(got.ChainIDs, chainIDs) {
		t.Errorf("inspect ChainIDs %v, want %v", got.ChainIDs, chainIDs)
	}
	if got.Config.OS != "linux" || !slices.Equal(got.Config.RootFS.DiffIDs, diffIDs) ||
		!slices.Equal(got.Config.Config.Cmd, []string{"/bin/sh"}) {
		t.Errorf("inspect Config is not the image config: %+v", got.Config)
	}
}

func TestCLISharedLayers(t *testing.T) {
	t.Parallel()
	root := newRoot(t)
	base := baseLayer(t, 2)
	imgA, imgB := newImage(t, base, appLayer(t, "alpha")), newImage(t, base, appLayer(t, "beta"))
	idA, _, chainA := imageIDs(t, imgA)
	idB, _, chainB := imageIDs(t, imgB)
	if chainA[0] != chainB[0] || chainA[1] == chainB[1] {
		t.Fatal("test images do not share exactly their base")
	}
	pullID(t, root, "oci:"+writeLayout(t, imgA, "latest")+":latest", "alpha")
	pullID(t, root, "oci:"+writeLayout(t, imgB, "latest"), "beta")

	ls := listLayers(t, root)
	if len(ls) != 3 {
		t.Fatalf("layers: %+v, want 3 (one shared base, two tops)", ls)
	}
	if l, _ := layerByID(ls, chainA[0]); l.Refs != 2 {
		t.Errorf("base layer: %+v, want refs 2", l)
	}
	for _, c := range []digest.Digest{chainA[1], chainB[1]} {
		if l, _ := layerByID(ls, c); l.Refs != 1 {
			t.Errorf("top layer %s: %+v, want refs 1", c, l)
		}
	}
	var baseRow []string
	for _, r := range tableRows(mustRun(t, root, "layers"))[1:] {
		if r[0] == chainA[0].Encoded()[:12] {
			baseRow = r
		}
	}
	if len(baseRow) == 0 || baseRow[len(baseRow)-1] != "2" {
		t.Errorf("layers table row of the base: %q, want REFS 2", baseRow)
	}

	if out := mustRun(t, root, "rmi", "alpha"); lastLine(out) != "Deleted: "+idA {
		t.Errorf("rmi alpha printed %q, want %s", out, idA)
	}
	ls = listLayers(t, root)
	if len(ls) != 2 {
		t.Errorf("layers after rmi alpha: %+v, want beta's two", ls)
	}
	if l, ok := layerByID(ls, chainA[0]); !ok || l.Refs != 1 {
		t.Errorf("base after rmi alpha: %+v (present %v), want refs 1", l, ok)
	}
	if _, ok := layerByID(ls, chainA[1]); ok {
		t.Errorf("alpha's top layer %s is still there", chainA[1])
	}
	verifyOK(t, root, chainB, "beta")
	verifyOK(t, root, chainB, idB)
}

func TestCLIVerifyDetectsCorruption(t *testing.T) {
	t.Parallel()
	img := newImage(t, baseLayer(t, 3), appLayer(t, "corrupt"))
	_, _, chainIDs := imageIDs(t, img)
	dir := writeLayout(t, img, "latest")
	base := chainIDs[0]
	for _, tc := range []struct {
		name   string
		damage func(diff string) error
		why    string // what the CORRUPT line says, when the case checks it
	}{
		{"modified file", func(diff string) error {
			return os.WriteFile(filepath.Join(diff, "etc", "passwd"), []byte("root:x:0:0:root:/root:/bin/bash\n"), 0o644)
		}, ""},
		{"setuid", func(diff string) error {
			return unix.Chmod(filepath.Join(diff, "bin", "tool"), 0o4777)
		}, "/bin/tool: mode 4777, want 0755"},
		{"file replaced by a fifo", func(diff string) error {
			p := filepath.Join(diff, "etc", "passwd")
			if err := os.Remove(p); err != nil {
				return err
			}
			return unix.Mkfifo(p, 0o644)
		}, "/etc/passwd: a fifo, want a regular file"},
		{"same-size change", func(diff string) error {
			f, err := os.OpenFile(filepath.Join(diff, "bin", "tool"), os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.WriteAt([]byte("XXXX"), 1000)
			return err
		}, ""},
		{"extra file", func(diff string) error {
			return os.WriteFile(filepath.Join(diff, "usr", "lib", "extra"), []byte("extra\n"), 0o644)
		}, "/usr/lib/extra: not in the layer"},
		{"deleted file", func(diff string) error {
			return os.Remove(filepath.Join(diff, "usr", "lib", "data"))
		}, "/usr/lib/data: missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			root := newRoot(t)
			pullID(t, root, "oci:"+dir, "corrupt")
			verifyOK(t, root, chainIDs, "corrupt")
			if err := tc.damage(filepath.Join(root, "layers", base.Encoded(), "diff")); err != nil {
				t.Fatal(err)
			}
			out, stderr, code := run(t, root, "verify", "corrupt")
			checkOneLineError(t, stderr, code)
			lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
			if len(lines) != 2 {
				t.Fatalf("verify printed %q, want one line per layer", out)
			}
			for _, line := range lines {
				switch {
				case strings.HasPrefix(line, base.String()+" CORRUPT "+tc.why):
				case line == chainIDs[1].String()+" ok":
				default:
					t.Errorf("verify line %q, want %s CORRUPT or %s ok", line, base, chainIDs[1])
				}
			}
			if !strings.Contains(stderr, "corrupt") {
				t.Errorf("verify stderr %q does not say corrupt", stderr)
			}
			// The layer alone, by chainID without sha256:, too.
			out, stderr, code = run(t, root, "verify", base.Encoded())
			checkOneLineError(t, stderr, code)
			if !strings.HasPrefix(out, base.String()+" CORRUPT") || strings.Count(out, "\n") != 1 {
				t.Errorf("verify %s printed %q", base.Encoded(), out)
			}
		})
	}
}
