//go:build linux && (amd64 || arm64)

package prefault

// The binary's writable data that holds pointers, .data and .bss, is
// written by the runtime and nearly every package's initialisation, a
// first write to each page a fault of its own (a copy for .data, which
// the binary's file backs). Mapping them writable in one call (about 75
// pages in layerctl) takes 0.3 to 0.5 ms off a start. The sections are
// found in the binary's section headers. Not .noptrdata (it holds the
// embedded init program, 2.4 MB no command but run reads) nor .noptrbss
// (33 MB of it are the FIPS random generator's memory, never touched).

// Offsets and sizes of ELF64's headers.
const (
	elfHeaderSize   = 64
	sectionSize     = 64
	maxSections     = 64
	maxNameTable    = 1024
	maxDataSections = 8 << 20 // no binary of ours has more
)

// dataRange is [start, end) of .data and .bss as the ELF64 image at exe
// (an open fd) lays them out: ok only when both are found, in that order.
func dataRange(exe int) (start, end uintptr, ok bool) {
	var hdr [elfHeaderSize]byte
	if pread(exe, hdr[:], 0) != len(hdr) || string(hdr[:4]) != "\x7fELF" || hdr[4] != 2 || hdr[5] != 1 {
		return 0, 0, false // not ELF64, little-endian
	}
	shoff := le64(hdr[0x28:])
	shentsize, shnum, shstrndx := le16(hdr[0x3a:]), le16(hdr[0x3c:]), le16(hdr[0x3e:])
	if shentsize != sectionSize || shnum == 0 || shnum > maxSections || shstrndx >= shnum {
		return 0, 0, false
	}
	var shdrs [maxSections * sectionSize]byte
	table := shdrs[:shnum*sectionSize]
	if pread(exe, table, int64(shoff)) != len(table) {
		return 0, 0, false
	}
	strs := table[shstrndx*sectionSize:]
	var names [maxNameTable]byte
	nameLen := min(le64(strs[0x20:]), maxNameTable)
	if pread(exe, names[:nameLen], int64(le64(strs[0x18:]))) != int(nameLen) {
		return 0, 0, false
	}
	var data, bss []byte
	for i := 0; i < shnum; i++ {
		s := table[i*sectionSize:]
		switch sectionName(names[:nameLen], le32(s)) {
		case ".data":
			data = s
		case ".bss":
			bss = s
		}
	}
	if data == nil || bss == nil {
		return 0, 0, false
	}
	start, end = uintptr(le64(data[0x10:])), uintptr(le64(bss[0x10:])+le64(bss[0x20:]))
	if start == 0 || end <= start || end-start > maxDataSections {
		return 0, 0, false
	}
	return start &^ (pageSize - 1), (end + pageSize - 1) &^ (pageSize - 1), true
}

// sectionName is the NUL-terminated name at off of the names table.
func sectionName(names []byte, off uint32) string {
	if int(off) >= len(names) {
		return ""
	}
	n := names[off:]
	for i, c := range n {
		if c == 0 {
			return string(n[:i])
		}
	}
	return ""
}

func le16(b []byte) int { return int(b[0]) | int(b[1])<<8 }

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func le64(b []byte) uint64 { return uint64(le32(b)) | uint64(le32(b[4:]))<<32 }

// populateData maps this binary's .data and .bss writable.
func populateData() {
	fd, ok := openRead("/proc/self/exe\x00")
	if !ok {
		return
	}
	start, end, ok := dataRange(fd)
	closeFD(fd)
	if ok {
		madvise(start, end-start, madvPopulateWrite)
	}
}
