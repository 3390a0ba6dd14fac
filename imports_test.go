package layerctl_test

// The import fence: DESIGN.md's data flow, checked on every non-test Go file
// of the module (as go-containerregistry's depcheck). Test files are exempt:
// they build fixtures with the helper packages (uniontest, layertest,
// registrytest) and check below the package under test (a CLI test looks
// for leftover cgroups). The helper packages themselves are test code too,
// and no non-test file may import one.

import (
	"fmt"
	"go/ast"
	"go/build/constraint"
	"go/parser"
	"go/token"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/layerctl/layerctl/"

// allowed are the project packages each package's non-test files may
// import: DESIGN.md's "Data flows one way". A package missing here fails
// the test, so that a new package gets its place in the flow.
var allowed = map[string][]string{
	"cmd/layerctl": {"pkg/build", "pkg/explore", "pkg/explore/tui", "pkg/container", "pkg/image"},
	// the init step alone, embedded in layerctl
	"cmd/layerctl-init": {"pkg/ns", "pkg/ns/prefault/entrypoint"},
	"pkg/build":         {"pkg/container"},
	"pkg/explore":       {"pkg/image", "pkg/layer"},
	"pkg/explore/tui":   {"pkg/explore", "pkg/layer"},
	"pkg/container":     {"pkg/image", "pkg/layer", "pkg/union", "pkg/ns", "pkg/cgroup"},
	"pkg/image":         {"pkg/layer"},
	"pkg/layer":         {"pkg/whiteout"},
	"pkg/union":         {"pkg/whiteout"},
	"pkg/whiteout":      {},
	"pkg/ns":            {"pkg/ns/prespawn"},
	// start-up memory mapping, for the main packages only; the entry point
	// maps before the runtime starts
	"pkg/ns/prefault":            {"pkg/ns/prefault/entrypoint"},
	"pkg/ns/prefault/entrypoint": {},
	// the init step of a run started as the process starts; the sealed init program
	"pkg/ns/prespawn": {},
	"pkg/cgroup":      {},
}

// fileAllowed are single files with one more import than their package:
// the CLI's main.go enters the container's init step before anything else,
// and maps its start-up memory first; handoff.go runs the full program a
// core binary carries, from a sealed memfd.
var fileAllowed = map[string][]string{
	"cmd/layerctl/main.go":    {"pkg/ns", "pkg/ns/prefault", "pkg/ns/prefault/entrypoint", "pkg/ns/prespawn"},
	"cmd/layerctl/handoff.go": {"pkg/ns"},
	// reads a run's command line as package prespawn did
	"cmd/layerctl/earlyspawn.go": {"pkg/ns/prespawn"},
}

// pending are imports the flow forbids that the code still has, each with
// what removes it. An entry that no longer matches fails the test, so the
// list only shrinks.
var pending = map[[2]string]string{}

// helperPackage tells a test helper package (uniontest, layertest, ...).
func helperPackage(pkg string) bool { return strings.HasSuffix(pkg, "test") }

func TestImportFence(t *testing.T) {
	for _, v := range violations(projectImports(t), pending) {
		t.Error(v)
	}
}

// TestImportFenceCatches feeds the fence made-up files: it must name each
// import the flow forbids, and only those.
func TestImportFenceCatches(t *testing.T) {
	edge := [2]string{"pkg/container", "pkg/whiteout"}
	cases := []struct {
		name    string
		files   map[string][]string
		pending map[[2]string]string
		want    int
	}{
		{"the flow", map[string][]string{
			"cmd/layerctl/run.go":      {"pkg/container", "pkg/image"},
			"cmd/layerctl/main.go":     {"pkg/ns"},
			"pkg/container/x.go":       {"pkg/image", "pkg/layer", "pkg/union", "pkg/ns", "pkg/cgroup"},
			"pkg/image/x.go":           {"pkg/layer"},
			"pkg/layer/x.go":           {"pkg/whiteout"},
			"pkg/union/uniontest/x.go": {"pkg/image", "pkg/layer"},
		}, nil, 0},
		{"cmd reaches below the facade", map[string][]string{"cmd/layerctl/gc.go": {"pkg/layer", "pkg/union"}}, nil, 2},
		{"ns outside main.go", map[string][]string{"cmd/layerctl/run.go": {"pkg/ns"}}, nil, 1},
		{"upwards", map[string][]string{"pkg/layer/x.go": {"pkg/image"}, "pkg/whiteout/x.go": {"pkg/layer"}}, nil, 2},
		{"sideways", map[string][]string{"pkg/union/x.go": {"pkg/layer"}}, nil, 1},
		{"a helper outside tests", map[string][]string{"pkg/container/x.go": {"pkg/union/uniontest"}}, nil, 1},
		{"an unplaced package", map[string][]string{"pkg/newthing/x.go": nil}, nil, 1},
		{"pending", map[string][]string{"pkg/container/x.go": {"pkg/whiteout"}}, map[[2]string]string{edge: "why"}, 0},
		{"pending gone", map[string][]string{"pkg/container/x.go": nil}, map[[2]string]string{edge: "why"}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := violations(c.files, c.pending)
			if len(got) != c.want {
				t.Errorf("%d violations, want %d: %q", len(got), c.want, got)
			}
		})
	}
}

// violations lists, one line each, the imports of files (as projectImports
// gives them) that the fence forbids, and the pending entries no file
// needs any more.
func violations(files map[string][]string, pending map[[2]string]string) []string {
	var out []string
	seen := map[[2]string]bool{}
	for file, imports := range files {
		pkg := path.Dir(file)
		if helperPackage(pkg) {
			continue
		}
		ok, known := allowed[pkg]
		if !known {
			out = append(out, fmt.Sprintf("%s: package %s has no place in the import fence (add it to allowed, as DESIGN.md's data flow puts it)", file, pkg))
			continue
		}
		for _, imp := range imports {
			switch {
			case helperPackage(imp):
				out = append(out, fmt.Sprintf("%s imports the test helper %s", file, imp))
			case slices.Contains(ok, imp), slices.Contains(fileAllowed[file], imp):
			case pending[[2]string{pkg, imp}] != "":
				seen[[2]string{pkg, imp}] = true
			default:
				out = append(out, fmt.Sprintf("%s imports %s: DESIGN.md's data flow allows %s only %v", file, imp, pkg, ok))
			}
		}
	}
	for edge, why := range pending {
		if !seen[edge] {
			out = append(out, fmt.Sprintf("%s no longer imports %s (%s): remove the pending entry", edge[0], edge[1], why))
		}
	}
	sort.Strings(out)
	return out
}

// projectImports maps every non-test Go file of the module (its path from
// the module root) to the module's packages it imports, as module paths
// such as "pkg/layer". A file that no build can include (go:build ignore,
// a generator) is left out.
func projectImports(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != "." && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			return err
		}
		if neverBuilt(f.Comments, f.Package) {
			return nil
		}
		var imports []string
		for _, spec := range f.Imports {
			p, err := strconv.Unquote(spec.Path.Value)
			if err != nil {
				return err
			}
			if rest, ok := strings.CutPrefix(p, module); ok {
				imports = append(imports, rest)
			}
		}
		out[filepath.ToSlash(path)] = imports
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatal("no Go files found: run the test from the module root")
	}
	return out
}

// neverBuilt tells a file whose build constraint (before its package
// clause) names the "ignore" tag.
func neverBuilt(groups []*ast.CommentGroup, pkgPos token.Pos) bool {
	for _, g := range groups {
		if g.Pos() >= pkgPos {
			break
		}
		for _, c := range g.List {
			expr, err := constraint.Parse(c.Text)
			if err != nil {
				continue // an ordinary comment
			}
			ignored := namesTag(expr, "ignore")
			if ignored {
				return true
			}
		}
	}
	return false
}

func namesTag(e constraint.Expr, tag string) bool {
	switch e := e.(type) {
	case *constraint.TagExpr:
		return e.Tag == tag
	case *constraint.NotExpr:
		return namesTag(e.X, tag)
	case *constraint.AndExpr:
		return namesTag(e.X, tag) || namesTag(e.Y, tag)
	case *constraint.OrExpr:
		return namesTag(e.X, tag) || namesTag(e.Y, tag)
	}
	return false
}
