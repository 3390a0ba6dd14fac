//go:build linux && (amd64 || arm64)

package prefault

import (
	"bufio"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// In a program, the package initialises before the standard library's
// packages that allocate (syscall, time, os): their faults are then the
// cheap ones. (Not in this test binary: its test files import them.)
func TestInitialisesFirst(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the traced program")
	}
	prog := t.TempDir() + "/initorder"
	if out, err := exec.Command(goTool, "build", "-o", prog, "./testdata/initorder").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v: %s", err, out)
	}
	cmd := exec.Command(prog)
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	var order []string // "init PKG @..." lines, in order
	for line := range strings.Lines(string(out)) {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "init" {
			order = append(order, f[1])
		}
	}
	self := slices.Index(order, "github.com/layerctl/layerctl/pkg/ns/prefault")
	if self < 0 {
		t.Fatalf("no init of this package in the trace:\n%s", out)
	}
	for _, later := range []string{"syscall", "time", "os"} {
		if i := slices.Index(order, later); i >= 0 && i < self {
			t.Errorf("%s initialised before this package (order %v)", later, order[:self+1])
		}
	}
}

// smapsEntry is one mapping of /proc/self/smaps: its range, permissions
// and the kB fields (Size, Rss, AnonHugePages, ...).
type smapsEntry struct {
	start, end uintptr
	perms      string
	kB         map[string]int
}

func readSmaps(t *testing.T) []smapsEntry {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no /proc/self/smaps: %v", err)
	}
	defer f.Close()
	var out []smapsEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if lo, hi, ok := strings.Cut(fields[0], "-"); ok && len(fields) >= 5 {
			s, err1 := strconv.ParseUint(lo, 16, 64)
			e, err2 := strconv.ParseUint(hi, 16, 64)
			if err1 == nil && err2 == nil {
				out = append(out, smapsEntry{uintptr(s), uintptr(e), fields[1], map[string]int{}})
				continue
			}
		}
		if len(out) > 0 && len(fields) == 3 && fields[2] == "kB" {
			n, _ := strconv.Atoi(fields[1])
			out[len(out)-1].kB[strings.TrimSuffix(fields[0], ":")] = n
		}
	}
	return out
}

func vmstat(name string) int {
	b, _ := os.ReadFile("/proc/vmstat")
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), " "); ok && k == name {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	return -1
}

// The package's init (run in this test binary as in layerctl) made the
// heap block it found a huge page.
func TestHeapIsHugePage(t *testing.T) {
	thp, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || strings.Contains(string(thp), "[never]") {
		t.Skip("transparent huge pages are off on this machine")
	}
	if vmstat("thp_collapse_alloc") < 0 {
		t.Skip("this kernel has no MADV_COLLAPSE counters (before Linux 6.1)")
	}
	if !hugePagesFree() {
		t.Skip("the kernel has no free 2 MiB block (/proc/buddyinfo): the heap stays in small pages")
	}
	heap := uintptr(unsafe.Pointer(heapMark))
	for _, m := range readSmaps(t) {
		if m.start <= heap && heap < m.end {
			if m.kB["AnonHugePages"] == 0 {
				if vmstat("thp_collapse_alloc_failed") > 0 {
					t.Skipf("the kernel found no free huge page (thp_collapse_alloc_failed %d)", vmstat("thp_collapse_alloc_failed"))
				}
				t.Fatalf("heap mapping %x-%x: no huge page (%v)", m.start, m.end, m.kB)
			}
			return
		}
	}
	t.Fatalf("no mapping holds the heap object at %x", heap)
}

// The binary's code was mapped whole at start, not page by page as it ran.
func TestImageIsMapped(t *testing.T) {
	maps := readSmaps(t)
	if len(maps) == 0 || maps[0].perms != "r-xp" {
		t.Skip("the first mapping is not the binary's code")
	}
	code := maps[0]
	if code.kB["Rss"] < code.kB["Size"] {
		t.Fatalf("code mapping: %d kB of %d kB mapped", code.kB["Rss"], code.kB["Size"])
	}
}

func TestNextMapping(t *testing.T) {
	cases := []struct {
		in       string
		ok       bool
		start    uintptr
		end      uintptr
		writable bool
		rest     string
	}{
		{"00400000-00b4a000 r-xp 00000000 fe:00 99 /bin/layerctl\nnext", true, 0x400000, 0xb4a000, false, "next"},
		{"012e5000-0161d000 rw-p 00ee5000 fe:00 99 /bin/layerctl", true, 0x12e5000, 0x161d000, true, ""},
		{"7f0a720a0000-7f0a72200000 rw-p 00000000 00:00 0\n", true, 0x7f0a720a0000, 0x7f0a72200000, true, ""},
		{"", false, 0, 0, false, ""},
		{"-1000 r-xp", false, 0, 0, false, ""},
		{"1000-", false, 0, 0, false, ""},
		{"2000-1000 r-xp 0 0:0 0", false, 0, 0, false, ""},
		{"1000-2000 r", false, 0, 0, false, ""},
		{"1000-2000xr-xp 0 0:0 0", false, 0, 0, false, ""},
	}
	for _, c := range cases {
		m, rest, ok := nextMapping([]byte(c.in))
		if ok != c.ok {
			t.Errorf("%q: ok %v, want %v", c.in, ok, c.ok)
			continue
		}
		if ok && (m.start != c.start || m.end != c.end || m.writable != c.writable || string(rest) != c.rest) {
			t.Errorf("%q: %x-%x writable %v rest %q", c.in, m.start, m.end, m.writable, rest)
		}
	}
}

func FuzzNextMapping(f *testing.F) {
	f.Add([]byte("00400000-00b4a000 r-xp 00000000 fe:00 99 /bin/layerctl\n"))
	f.Add([]byte("1-2 rw-p\n3-4 r--p"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for len(b) > 0 {
			m, rest, ok := nextMapping(b)
			if !ok {
				return
			}
			if m.end <= m.start || len(rest) >= len(b) {
				t.Fatalf("%q: %x-%x, rest %d of %d bytes", b, m.start, m.end, len(rest), len(b))
			}
			b = rest
		}
	})
}

func TestFreeHugeBlocks(t *testing.T) {
	cases := []struct {
		info string
		want int
	}{
		{"Node 0, zone      DMA      0      0      0      0      0      0      0      0      1      1      3 \n" +
			"Node 0, zone    DMA32      4      1      2      2      2      2      1      4      4      2    752 \n" +
			"Node 0, zone   Normal  20423  19272  16579   8731   3699   2615   2779   1743    972    650   1205 \n", 1 + 3 + 2 + 752 + 650 + 1205},
		{"Node 0, zone   Normal  20423  19272  16579   8731   3699   2615   2779   1743    972    0   0\n", 0},
		{"", 0},
		{"Node 0, zone Normal 1 2 3\n", 0}, // too few orders: none counted
		{"Node 0, zone Normal 1 2 3 4 5 6 7 8 9 x 1\n", 0}, // not a number: nothing trusted
		{"garbage line\nNode 1, zone Normal 0 0 0 0 0 0 0 0 0 2 0", 2},
	}
	for _, c := range cases {
		if got := freeHugeBlocks([]byte(c.info)); got != c.want {
			t.Errorf("%q: %d, want %d", c.info, got, c.want)
		}
	}
}

func FuzzFreeHugeBlocks(f *testing.F) {
	f.Add([]byte("Node 0, zone Normal 1 2 3 4 5 6 7 8 9 10 11\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if n := freeHugeBlocks(b); n < 0 {
			t.Fatalf("%q: %d", b, n)
		}
	})
}

// hugeHeap makes the block holding the heap's last object a huge page, and
// the next one a huge page at its first touch, on a mapping of the test's
// own: what a start's heap gets.
func TestHugeHeapTakesTheNextBlock(t *testing.T) {
	if !hugePagesFree() {
		t.Skip("the kernel has no free 2 MiB block (/proc/buddyinfo)")
	}
	if vmstat("thp_collapse_alloc") < 0 {
		t.Skip("this kernel has no MADV_COLLAPSE counters (before Linux 6.1)")
	}
	// 8 MiB, aligned to a huge page within: blocks 0 to 2 and a spare.
	mem, err := syscall.Mmap(-1, 0, 4*hugePage, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(mem)
	base := uintptr(unsafe.Pointer(&mem[0]))
	start := (base + hugePage - 1) &^ (hugePage - 1)
	end := start + 3*hugePage
	// A heap of 100 pages in block 0, its last object there.
	for off := uintptr(0); off < 100*pageSize; off += pageSize {
		mem[start-base+off] = 1
	}
	failedBefore := vmstat("thp_collapse_alloc_failed") + vmstat("thp_fault_fallback")
	hugeHeap(start, end, start+99*pageSize)
	hugeKB := func() int {
		for _, m := range readSmaps(t) {
			if m.start <= start && start < m.end {
				got := m.kB["AnonHugePages"]
				if got%2048 != 0 && vmstat("thp_collapse_alloc_failed")+vmstat("thp_fault_fallback") > failedBefore {
					t.Skipf("the kernel found no free huge page this time (AnonHugePages %d kB)", got)
				}
				return got
			}
		}
		t.Fatal("no mapping holds the test's memory")
		return 0
	}
	if got := hugeKB(); got != 2048 {
		t.Fatalf("after hugeHeap: AnonHugePages %d kB, want block 0 huge (2048 kB), blocks 1 and 2 untouched", got)
	}
	mem[start-base+hugePage+5*pageSize] = 1 // the heap's first touch of block 1
	if got := hugeKB(); got != 4096 {
		t.Fatalf("after a touch of block 1: AnonHugePages %d kB, want blocks 0 and 1 huge (4096 kB)", got)
	}
}

// dataRange finds .data and .bss in a binary's section headers as
// debug/elf does.
func TestDataRange(t *testing.T) {
	exe, err := os.Open("/proc/self/exe")
	if err != nil {
		t.Skip(err)
	}
	defer exe.Close()
	f, err := elf.NewFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	data, bss := f.Section(".data"), f.Section(".bss")
	if data == nil || bss == nil {
		t.Skip("the test binary has no .data or .bss")
	}
	start, end, ok := dataRange(int(exe.Fd()))
	wantStart := uintptr(data.Addr) &^ (pageSize - 1)
	wantEnd := (uintptr(bss.Addr+bss.Size) + pageSize - 1) &^ (pageSize - 1)
	if !ok || start != wantStart || end != wantEnd {
		t.Fatalf("dataRange = %#x-%#x (%v), want %#x-%#x", start, end, ok, wantStart, wantEnd)
	}
	// The package's init (run in this test binary as in layerctl) mapped
	// them: every page of .bss is in memory, written or not.
	bssStart := (uintptr(bss.Addr) + pageSize - 1) &^ (pageSize - 1)
	vec := make([]byte, (end-bssStart)/pageSize)
	if len(vec) > 0 && (!mincore(bssStart, end-bssStart, vec) || slices.Contains(vec, 0)) {
		t.Errorf(".bss %#x-%#x: pages not in memory after init: %v", bssStart, end, vec)
	}
	// Anything else is refused.
	for _, b := range [][]byte{nil, []byte("\x7fELF\x01\x01"), make([]byte, 64)} {
		p := filepath.Join(t.TempDir(), "f")
		must(t, os.WriteFile(p, b, 0o644))
		g, err := os.Open(p)
		must(t, err)
		if _, _, ok := dataRange(int(g.Fd())); ok {
			t.Errorf("a range found in %q", b)
		}
		g.Close()
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func FuzzDataRange(f *testing.F) {
	exe, err := os.ReadFile("/proc/self/exe")
	if err == nil && len(exe) > 4096 {
		f.Add(exe[:4096])
	}
	f.Add([]byte("\x7fELF\x02\x01\x01"))
	p := filepath.Join(f.TempDir(), "elf")
	f.Fuzz(func(t *testing.T, b []byte) {
		must(t, os.WriteFile(p, b, 0o644))
		g, err := os.Open(p)
		must(t, err)
		defer g.Close()
		if start, end, ok := dataRange(int(g.Fd())); ok && (end <= start || end-start > maxDataSections) {
			t.Fatalf("range %#x-%#x", start, end)
		}
	})
}
