//go:build linux && amd64

package entrypoint

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

const entrySymbol = "github.com/layerctl/layerctl/pkg/ns/prefault/entrypoint.entry"

// buildEntryProgram builds testdata/entry, with ldflags.
func buildEntryProgram(t *testing.T, ldflags string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the test program")
	}
	prog := t.TempDir() + "/entry"
	build := exec.Command(goTool, "build", "-ldflags", ldflags, "-o", prog, "./testdata/entry")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v: %s", err, out)
	}
	return prog
}

func runEntryProgram(t *testing.T, prog string) string {
	t.Helper()
	cmd := exec.Command(prog, "one", "two words", "")
	cmd.Env = append(os.Environ(), "PREFAULT_ENTRY_TEST=x=y")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v: %s", prog, err, out)
	}
	return strings.TrimSpace(string(out))
}

// entryReport is the test program's line: what the entry did, and the
// arguments and environment the program got.
type entryReport struct {
	data, image         bool
	pages, cached       int
	argsAndEnv, rawLine string
}

func parseEntryReport(t *testing.T, line string) entryReport {
	t.Helper()
	r := entryReport{rawLine: line}
	rest, found := "", false
	if _, err := fmt.Sscanf(line, "data=%t image=%t pages=%d cached=%d", &r.data, &r.image, &r.pages, &r.cached); err != nil {
		t.Fatalf("test program said %q: %v", line, err)
	}
	if _, rest, found = strings.Cut(line, " args="); !found {
		t.Fatalf("test program said %q", line)
	}
	r.argsAndEnv = "args=" + rest
	return r
}

// Linked with the entry point, a program has its data and image mapped
// before the runtime starts, and gets its arguments and environment as
// without it. The image is mapped when the page cache held nine pages in
// ten of it, not otherwise (else the entry would read it from disk whole).
func TestEntry(t *testing.T) {
	const argsAndEnv = `args=["one" "two words" ""] env="x=y"`
	with := buildEntryProgram(t, "-s -w -E "+entrySymbol)
	r := parseEntryReport(t, runEntryProgram(t, with))
	if !r.data || !r.image || r.pages == 0 || r.cached != r.pages || r.argsAndEnv != argsAndEnv {
		t.Errorf("with the entry point, the program in the page cache said:\n%s\nwant data and image mapped, every page cached, %s", r.rawLine, argsAndEnv)
	}
	without := buildEntryProgram(t, "-s -w")
	if got, want := runEntryProgram(t, without), "data=false image=false pages=0 cached=0 "+argsAndEnv; got != want {
		t.Errorf("without the entry point:\n got %s\nwant %s", got, want)
	}

	// Out of the page cache: the entry maps the image only if, by the time
	// it looked, the kernel's read-ahead had brought nine pages in ten back.
	if !evict(t, with) {
		t.Skip("could not drop the test program from the page cache")
	}
	r = parseEntryReport(t, runEntryProgram(t, with))
	if wantImage := r.cached*10 >= r.pages*9; !r.data || r.image != wantImage || r.cached > r.pages || r.argsAndEnv != argsAndEnv {
		t.Errorf("out of the page cache, the program said:\n%s\nwant data mapped, image %v, %s", r.rawLine, wantImage, argsAndEnv)
	}
	t.Logf("after eviction: %d of %d pages cached at entry", r.cached, r.pages)
}

// evict drops path's pages from the page cache: true when nine in ten at
// least are gone.
func evict(t *testing.T, path string) bool {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		t.Logf("fadvise: %v", err)
		return false
	}
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	vec := make([]byte, (len(m)+os.Getpagesize()-1)/os.Getpagesize())
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		t.Fatalf("mincore: %v", e)
	}
	cached := 0
	for _, v := range vec {
		cached += int(v & 1)
	}
	return cached*10 < len(vec)
}
