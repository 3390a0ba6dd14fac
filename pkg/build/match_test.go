package build

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// TestMatchWildcards: a COPY source with wildcards matches what
// path.Match does at its own depth, less what .dockerignore excludes.
func TestMatchWildcards(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"a.txt": "", "b.json": "", "package.json": "", "package-lock.json": "",
		"src/x.go": "", "src/y.go": "", "src/deep/z.go": "", "src2/w.go": "",
		"docs/a.txt": "", "ignored/q.go": "",
		".dockerignore": "ignored\n",
	})
	b := &builder{opts: Options{Context: dir}}
	src, closeSrc, err := b.contextSource()
	if err != nil {
		t.Fatal(err)
	}
	defer closeSrc()
	for _, tc := range []struct{ pattern, want string }{
		{"*.txt", "a.txt"},
		{"package*.json", "package-lock.json package.json"},
		{"src/*.go", "src/x.go src/y.go"},
		{"src*/*.go", "src/x.go src/y.go src2/w.go"},
		{"*/*.go", "src/x.go src/y.go src2/w.go"},
		{"*/deep/*", "src/deep/z.go"},
		{"*/a.txt", "docs/a.txt"},
		{"s?c", "src"},
		{"./src/[xy].go", "src/x.go src/y.go"},
	} {
		got, err := src.match(tc.pattern)
		if err != nil || strings.Join(got, " ") != tc.want {
			t.Errorf("%s: %v, %v; want %s", tc.pattern, got, err, tc.want)
		}
	}
	if got, err := src.match("*/q.go"); err == nil {
		t.Errorf("a source under an ignored directory matched: %v", got)
	}
	if !slices.Contains(mustEntries(t, dir), "ignored") {
		t.Fatal("the context lost its ignored directory")
	}
}

func mustEntries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range des {
		names = append(names, d.Name())
	}
	return names
}
