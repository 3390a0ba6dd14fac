package prespawn

import (
	"bytes"
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// inFile is initialised by the linker: its bytes lie in the test binary's
// file, as an embedded program's do.
var inFile = []byte("\x7fELF: a program that lies in this binary's file, as an embedded one does, " +
	"long enough to span more than one probe of the head and the tail of the copy")

// The memfd of an embedded program holds exactly its bytes and is sealed,
// whether they are copied from the binary's file (sendfile) or, for bytes
// that lie nowhere in it, written from memory.
func TestSealedProgram(t *testing.T) {
	onHeap := bytes.Repeat([]byte("made at run time "), 1000)
	for _, c := range []struct {
		name   string
		prog   []byte
		inFile bool
	}{
		{"in the binary's file", inFile, true},
		{"on the heap", onHeap, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, ok := fileOffset(c.prog); ok != c.inFile {
				t.Fatalf("fileOffset found the bytes in the file: %v, want %v", ok, c.inFile)
			}
			fd, err := sealedCopy("layerctl-test", c.prog)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(fd)
			got, err := os.ReadFile(fmt.Sprintf("/proc/self/fd/%d", fd))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, c.prog) {
				t.Fatalf("the memfd holds %d other bytes, want the program's %d", len(got), len(c.prog))
			}
			if s, err := unix.FcntlInt(uintptr(fd), unix.F_GET_SEALS, 0); err != nil || s&Seals != Seals {
				t.Fatalf("seals %#x (%v), want %#x", s, err, Seals)
			}
			if _, err := unix.Pwrite(fd, []byte("x"), 0); err == nil {
				t.Fatal("the sealed program is writable")
			}
		})
	}
}
