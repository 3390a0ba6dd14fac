package layertest

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// SparseFormat is one of the ways GNU tar writes a sparse file.
type SparseFormat int

const (
	// SparseGNU is the old GNU format: type 'S', the map in the header
	// and in extension blocks after it.
	SparseGNU SparseFormat = iota
	// SparsePAX01 keeps the map in a GNU.sparse.map PAX record.
	SparsePAX01
	// SparsePAX10 (GNU tar's default with --format=posix) puts the map in
	// front of the data, as decimal lines padded to a block.
	SparsePAX10
)

func (f SparseFormat) String() string {
	return [...]string{"gnu", "pax0.1", "pax1.0"}[f]
}

// Sparse is a sparse regular file of size bytes, zero but for data (offset
// -> bytes), written in format f. Go's tar writer cannot write one, so its
// blocks are made here; mode 0644, owner 0:0, mtime Epoch.
func Sparse(name string, size int64, data map[int64]string, f SparseFormat) Entry {
	offsets := make([]int64, 0, len(data))
	for off := range data {
		offsets = append(offsets, off)
	}
	sort.Slice(offsets, func(i, j int) bool { return offsets[i] < offsets[j] })
	var body strings.Builder
	var frags [][2]int64
	for _, off := range offsets {
		body.WriteString(data[off])
		frags = append(frags, [2]int64{off, int64(len(data[off]))})
	}
	if len(frags) == 0 || frags[len(frags)-1][0]+frags[len(frags)-1][1] < size {
		frags = append(frags, [2]int64{size, 0}) // as GNU tar ends a map
	}
	var out []byte
	switch f {
	case SparseGNU:
		h := header(name, 'S', int64(body.Len()), true)
		setNum(h[483:495], size)
		rest := putFrags(h[386:482], frags, 4)
		h[482] = flag(len(rest) > 0)
		checksum(h)
		out = append(out, h...)
		for len(rest) > 0 {
			ext := make([]byte, 512)
			rest = putFrags(ext[:504], rest, 21)
			ext[504] = flag(len(rest) > 0)
			out = append(out, ext...)
		}
		out = append(out, pad([]byte(body.String()))...)
	case SparsePAX01, SparsePAX10:
		records := [][2]string{{"GNU.sparse.name", name}}
		var mapText strings.Builder
		if f == SparsePAX01 {
			var m []string
			for _, fr := range frags {
				m = append(m, strconv.FormatInt(fr[0], 10), strconv.FormatInt(fr[1], 10))
			}
			records = append(records, [2]string{"GNU.sparse.major", "0"}, [2]string{"GNU.sparse.minor", "1"},
				[2]string{"GNU.sparse.size", strconv.FormatInt(size, 10)}, [2]string{"GNU.sparse.numblocks", strconv.Itoa(len(frags))},
				[2]string{"GNU.sparse.map", strings.Join(m, ",")})
		} else {
			records = append(records, [2]string{"GNU.sparse.major", "1"}, [2]string{"GNU.sparse.minor", "0"},
				[2]string{"GNU.sparse.realsize", strconv.FormatInt(size, 10)})
			fmt.Fprintf(&mapText, "%d\n", len(frags))
			for _, fr := range frags {
				fmt.Fprintf(&mapText, "%d\n%d\n", fr[0], fr[1])
			}
		}
		var pax strings.Builder
		for _, r := range records {
			pax.WriteString(paxRecord(r[0], r[1]))
		}
		x := header("././@PaxHeader", 'x', int64(pax.Len()), false)
		checksum(x)
		out = append(out, x...)
		out = append(out, pad([]byte(pax.String()))...)
		mapBlocks := pad([]byte(mapText.String()))
		h := header("GNUSparseFile.0/"+name, '0', int64(len(mapBlocks)+body.Len()), false)
		checksum(h)
		out = append(out, h...)
		out = append(out, mapBlocks...)
		out = append(out, pad([]byte(body.String()))...)
	}
	return Entry{blocks: out}
}

// header is a ustar (or old GNU) header block without its checksum.
func header(name string, typ byte, size int64, gnu bool) []byte {
	h := make([]byte, 512)
	copy(h[0:100], name)
	setNum(h[100:108], 0o644)
	setNum(h[108:116], 0)
	setNum(h[116:124], 0)
	setNum(h[124:136], size)
	setNum(h[136:148], Epoch.Unix())
	h[156] = typ
	if gnu {
		copy(h[257:265], "ustar  \x00")
	} else {
		copy(h[257:265], "ustar\x0000")
	}
	return h
}

func setNum(field []byte, n int64) {
	s := strconv.FormatInt(n, 8)
	copy(field, strings.Repeat("0", len(field)-1-len(s))+s)
}

func checksum(h []byte) {
	copy(h[148:156], "        ")
	sum := 0
	for _, b := range h {
		sum += int(b)
	}
	copy(h[148:156], fmt.Sprintf("%06o\x00 ", sum))
}

// putFrags writes up to n (offset, length) pairs of 12 octal digits each.
func putFrags(area []byte, frags [][2]int64, n int) [][2]int64 {
	for i := 0; i < n && len(frags) > 0; i++ {
		setNum(area[i*24:i*24+12], frags[0][0])
		setNum(area[i*24+12:i*24+24], frags[0][1])
		frags = frags[1:]
	}
	return frags
}

func flag(b bool) byte {
	if b {
		return 1
	}
	return 0
}

func pad(b []byte) []byte { return append(b, make([]byte, (512-len(b)%512)%512)...) }

// paxRecord is "LEN KEY=VALUE\n", LEN counting itself.
func paxRecord(k, v string) string {
	rest := " " + k + "=" + v + "\n"
	n := len(rest) + 1
	for len(strconv.Itoa(n))+len(rest) != n {
		n++
	}
	return strconv.Itoa(n) + rest
}
