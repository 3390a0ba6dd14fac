package build

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestCopyContent copies a file's bytes in the kernel where it can, and by
// read and write into what copy_file_range refuses (a pipe).
func TestCopyContent(t *testing.T) {
	body := make([]byte, 300<<10) // more than one read and write
	for i := range body {
		body[i] = byte(i * 7)
	}
	name := filepath.Join(t.TempDir(), "in")
	if err := os.WriteFile(name, body, 0o644); err != nil {
		t.Fatal(err)
	}
	toFile := func(t *testing.T) (*os.File, func() []byte) {
		f, err := os.Create(filepath.Join(t.TempDir(), "out"))
		if err != nil {
			t.Fatal(err)
		}
		return f, func() []byte { b, _ := os.ReadFile(f.Name()); return b }
	}
	toPipe := func(t *testing.T) (*os.File, func() []byte) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan []byte)
		go func() { b, _ := io.ReadAll(r); got <- b }()
		return w, func() []byte { w.Close(); return <-got }
	}
	for _, tc := range []struct {
		name string
		out  func(*testing.T) (*os.File, func() []byte)
	}{{"file", toFile}, {"pipe", toPipe}} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := os.Open(name)
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			out, read := tc.out(t)
			defer out.Close()
			if err := copyContent(int(in.Fd()), int(out.Fd()), int64(len(body))); err != nil {
				t.Fatal(err)
			}
			if got := read(); string(got) != string(body) {
				t.Errorf("copied %d bytes, want the %d of the file", len(got), len(body))
			}
		})
	}
}
