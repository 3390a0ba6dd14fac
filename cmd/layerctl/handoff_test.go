package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestFullProgramTrailer reads the trailer make build writes, and refuses
// every file that does not end in a sound one.
func TestFullProgramTrailer(t *testing.T) {
	core := strings.Repeat("c", 100)
	prog := "\x7fELF" + strings.Repeat("p", 50)
	trailer := func(off, size int) string { return fmt.Sprintf("\n%s %020d %020d\n", fullMagic, off, size) }
	cases := []struct {
		name, file string
		off, size  int64
		ok         bool
	}{
		{"appended", core + prog + trailer(100, 54), 100, 54, true},
		{"none", core, 0, 0, false},
		{"too short", "x", 0, 0, false},
		{"size beyond the file", core + prog + trailer(100, 55), 0, 0, false},
		{"offset zero", prog + trailer(0, 54), 0, 0, false},
		{"not a program", core + strings.Repeat("p", 54) + trailer(100, 54), 0, 0, false},
		{"another magic", core + prog + strings.Replace(trailer(100, 54), "full", "fuld", 1), 0, 0, false},
		{"not a number", core + prog + strings.Replace(trailer(100, 54), "000000054", "0000000x4", 1), 0, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "bin")
			if err := os.WriteFile(p, []byte(c.file), 0o755); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			off, size, err := fullProgram(f)
			if (err == nil) != c.ok || off != c.off || size != c.size {
				t.Fatalf("fullProgram = %d, %d, %v; want %d, %d, ok %v", off, size, err, c.off, c.size, c.ok)
			}
		})
	}
}

// TestCoreLinksNeitherBuilderNorTUI keeps the core binary free of the
// packages it hands off (the builder's, the TUI's, the YAML parser of
// explore --ci): were one linked again, every command would pay for it at
// start.
func TestCoreLinksNeitherBuilderNorTUI(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-tags", "urfave_cli_no_docs,initembed,core", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	for _, p := range deps {
		for _, banned := range []string{"/pkg/build", "/pkg/explore/tui", "github.com/moby/buildkit", "github.com/gdamore/tcell", "github.com/rivo/tview", "google.golang.org/protobuf", "go.yaml.in/yaml"} {
			if strings.HasSuffix(p, banned) || strings.HasPrefix(p, banned) || strings.Contains(p, banned+"/") {
				t.Errorf("the core binary links %s", p)
			}
		}
	}
	if !slices.Contains(deps, "github.com/layerctl/layerctl/pkg/explore") {
		t.Error("the core binary lacks pkg/explore: history and explore --format json run in it")
	}
}

// TestCLIHandOff: the binary make build makes is the core with the full
// program after it; build runs there, and a core cut from its program says
// what is missing in one line instead of failing in some other way.
func TestCLIHandOff(t *testing.T) {
	f, err := os.Open(binPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	off, _, err := fullProgram(f)
	if err != nil {
		t.Fatalf("the built binary: %v", err)
	}
	root := newRoot(t)
	ctx := t.TempDir()
	if err := os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte("FROM scratch\nLABEL a=b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := mustRun(t, root, "build", "-q", "-t", "x", ctx); !strings.HasPrefix(out, "sha256:") {
		t.Fatalf("build through the full program printed %q", out)
	}

	core := filepath.Join(t.TempDir(), "layerctl-core")
	data := make([]byte, off)
	if _, err := f.ReadAt(data, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(core, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(core, "--root", root, "build", ctx)
	cmd.Env = testEnv()
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("build on a bare core: %v, want exit 1 (%s)", err, out)
	}
	if got := strings.TrimSpace(string(out)); strings.Count(got, "\n") > 0 || !strings.Contains(got, "lacks its full program") {
		t.Fatalf("build on a bare core said %q", got)
	}
	// Everything else runs in the core alone.
	cmd = exec.Command(core, "--root", root, "images", "-q")
	cmd.Env = testEnv()
	if out, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) == "" {
		t.Fatalf("images on a bare core: %v (%s)", err, out)
	}
}
