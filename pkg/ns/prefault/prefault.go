//go:build linux && (amd64 || arm64)

package prefault

import (
	"unsafe"

	"github.com/layerctl/layerctl/pkg/ns/prefault/entrypoint"
)

const (
	madvHugepage      = 14 // MADV_HUGEPAGE
	madvPopulateRead  = 22 // MADV_POPULATE_READ, Linux 5.14
	madvPopulateWrite = 23 // MADV_POPULATE_WRITE, Linux 5.14
	madvCollapse      = 25 // MADV_COLLAPSE, Linux 6.1
	hugePage          = 2 << 20
	pageSize          = 4096
)

// heapMark is a heap object: where it lies tells where the heap is.
var heapMark = new([16]byte)

func init() {
	done := entrypoint.At() // what is mapped already
	if !done.Data {
		populateData()
	}
	maps, ok := readMaps()
	if !ok {
		return
	}
	heap := uintptr(unsafe.Pointer(heapMark))
	image := true // the first lines, up to the first writable one
	for len(maps) > 0 {
		var m mapping
		m, maps, ok = nextMapping(maps)
		if !ok {
			return
		}
		if image && !m.writable && !done.Image {
			populate(m.start, m.end)
		} else {
			image = false
		}
		if m.start <= heap && heap < m.end && hugePagesFree() {
			hugeHeap(m.start, m.end, heap)
		}
	}
}

// hugeHeap turns the 2 MiB blocks of the heap mapping [start, end) up to the
// one holding heap into huge pages, and asks for huge pages for the rest:
// the heap's first touch of a later block then faults in a huge page.
// (Writing one page of the next block now, to have it ready, cost ps and
// images 0.2-0.3 ms: their heap never gets there.)
func hugeHeap(start, end, heap uintptr) {
	lo := (start + hugePage - 1) &^ (hugePage - 1)
	hi := end &^ (hugePage - 1)
	if lo >= hi {
		return
	}
	madvise(lo, hi-lo, madvHugepage)
	for b := lo; b < hi && b <= heap; b += hugePage {
		madvise(b, hugePage, madvCollapse) // fails for a block with nothing in it yet
	}
}

// hugePagesFree tells whether the kernel has free 2 MiB blocks at hand
// (/proc/buddyinfo, orders 9 and 10): a huge page then costs no direct
// compaction, which on a fragmented host could stall a start for longer than
// the faults it saves.
func hugePagesFree() bool {
	fd, ok := openRead("/proc/buddyinfo\x00")
	if !ok {
		return false
	}
	defer closeFD(fd)
	buf := make([]byte, 4096)
	n := read(fd, buf)
	if n <= 0 {
		return false
	}
	return freeHugeBlocks(buf[:n]) > 0
}

// freeHugeBlocks sums the free blocks of order 9 and more over the zones of
// buddyinfo ("Node 0, zone Normal c0 c1 ... c10").
func freeHugeBlocks(info []byte) int {
	total := 0
	for len(info) > 0 {
		var line []byte
		line, info = cutLine(info)
		// The counts are the fields after "zone NAME"; order k is count k.
		fields := splitFields(line)
		if len(fields) < 4+10 || string(fields[2]) != "zone" {
			continue
		}
		for _, f := range fields[4+9:] {
			v, ok := decimal(f)
			if !ok {
				return 0
			}
			total += v
		}
	}
	return total
}

func splitFields(b []byte) [][]byte {
	var out [][]byte
	for i := 0; i < len(b); {
		for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
			i++
		}
		j := i
		for j < len(b) && b[j] != ' ' && b[j] != '\t' {
			j++
		}
		if j > i {
			out = append(out, b[i:j])
		}
		i = j
	}
	return out
}

func decimal(b []byte) (int, bool) {
	v := 0
	for _, c := range b {
		if c < '0' || c > '9' || v > 1<<40 {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, len(b) > 0
}

// populate maps [start, end) of the binary's image when it is in the page
// cache: nine pages in ten at least (a copy made by cp has holes where the
// binary has zeros, which are never cached).
func populate(start, end uintptr) {
	n := (end - start + pageSize - 1) / pageSize
	if n == 0 || n > 1<<16 { // 256 MiB: no image of ours
		return
	}
	vec := make([]byte, n) // one byte a page, bit 0: in the page cache
	if !mincore(start, end-start, vec) {
		return
	}
	var cached uintptr
	for _, v := range vec {
		cached += uintptr(v & 1)
	}
	if cached*10 >= n*9 {
		madvise(start, end-start, madvPopulateRead)
	}
}

// readMaps reads /proc/self/maps, whose first lines (the binary's image and
// the heap) are all this needs: at most 16 KiB of it.
func readMaps() ([]byte, bool) {
	fd, ok := openRead("/proc/self/maps\x00")
	if !ok {
		return nil, false
	}
	defer closeFD(fd)
	buf := make([]byte, 16<<10)
	n := 0
	for n < len(buf) {
		m := read(fd, buf[n:])
		if m <= 0 {
			break
		}
		n += m
	}
	// Only whole lines.
	for n > 0 && buf[n-1] != '\n' {
		n--
	}
	return buf[:n], n > 0
}

type mapping struct {
	start, end uintptr
	writable   bool
}

// nextMapping parses the first line of maps ("start-end perms ...").
func nextMapping(maps []byte) (mapping, []byte, bool) {
	line, rest := cutLine(maps)
	var m mapping
	var ok bool
	if m.start, line, ok = hex(line); !ok || len(line) == 0 || line[0] != '-' {
		return m, nil, false
	}
	if m.end, line, ok = hex(line[1:]); !ok || len(line) < 4 || line[0] != ' ' || m.end <= m.start {
		return m, nil, false
	}
	m.writable = line[2] == 'w'
	return m, rest, true
}

// cutLine splits b after its first line.
func cutLine(b []byte) (line, rest []byte) {
	for i, c := range b {
		if c == '\n' {
			return b[:i], b[i+1:]
		}
	}
	return b, nil
}

// hex parses the hex number at the start of b.
func hex(b []byte) (uintptr, []byte, bool) {
	var v uintptr
	i := 0
	for ; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | uintptr(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | uintptr(c-'a'+10)
		default:
			return v, b[i:], i > 0
		}
	}
	return v, nil, i > 0
}
