package layer_test

// Benchmarks of the hot paths on a generated 10,000-entry layer, as
// containerd's benchsuite measures its snapshotters: run them with
//   go test -run x -bench . ./pkg/layer/
// so that a regression in Apply, the change walker, the differ or the
// reassembler shows as a figure.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/layerctl/layerctl/pkg/layer"
	lt "github.com/layerctl/layerctl/pkg/layer/layertest"
	"github.com/layerctl/layerctl/pkg/whiteout"
)

// benchEntries is the size of the generated layer.
const benchEntries = 10000

// benchLayer generates a layer of benchEntries entries: 100 directories of
// files of up to 4 KiB, with a symlink and a hardlink in every directory.
// With over set, it is the layer above: a tenth of the files rewritten,
// one in fifty deleted, and the rest of the tree as it was.
func benchLayer(b *testing.B, over bool) []byte {
	b.Helper()
	var entries []lt.Entry
	// Each directory: itself, 97 files, a symlink and a hardlink.
	for d := 0; d < benchEntries/100; d++ {
		dir := fmt.Sprintf("d%03d/", d)
		entries = append(entries, lt.Dir(dir))
		for f := 0; f < 97; f++ {
			name := fmt.Sprintf("%sf%02d", dir, f)
			switch {
			case !over:
				entries = append(entries, lt.File(name, string(bytes.Repeat([]byte{byte('a' + f%26)}, (d*31+f*17)%4096))))
			case f%50 == 7:
				entries = append(entries, lt.File(fmt.Sprintf("%s.wh.f%02d", dir, f), ""))
			case f%10 == 3:
				entries = append(entries, lt.File(name, "rewritten"))
			}
		}
		if !over {
			entries = append(entries, lt.Symlink(dir+"link", "f00"), lt.Hardlink(dir+"hard", dir+"f01"))
		}
	}
	return lt.Tar(b, entries...)
}

func benchStore(b *testing.B) *layer.Store {
	b.Helper()
	s, err := layer.Open(b.TempDir(), layer.OpenOptions{Default: func() (layer.Settings, error) {
		return layer.Settings{Driver: "vfs", Whiteout: whiteout.FormatFiles}, nil
	}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func benchPut(b *testing.B, s *layer.Store, parent layer.Meta, data []byte) layer.Meta {
	b.Helper()
	m, _, err := s.Put(context.Background(), parent.ChainID, bytesSource(data))
	if err != nil {
		b.Fatal(err)
	}
	return m
}

func BenchmarkApply(b *testing.B) {
	requireRoot(b)
	data := benchLayer(b, false)
	conv := conv(b, whiteout.FormatOverlay)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		dir := b.TempDir()
		if _, err := layer.Apply(context.Background(), dir, bytes.NewReader(data), layer.ApplyOptions{Converter: conv, TarSplit: io.Discard}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(benchEntries)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkWalkChanges walks a base layer (every entry added) and the
// layer above it against the base (each directory's copies merged).
func BenchmarkWalkChanges(b *testing.B) {
	s := benchStore(b)
	base := benchPut(b, s, layer.Meta{}, benchLayer(b, false))
	top := benchPut(b, s, base, benchLayer(b, true))
	for _, tc := range []struct {
		name string
		id   layer.Meta
	}{{"base", base}, {"over-base", top}} {
		b.Run(tc.name, func(b *testing.B) {
			n := 0
			for b.Loop() {
				n = 0
				err := s.LayerChanges(context.Background(), tc.id.ChainID, func(layer.Change) error {
					n++
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n), "changes/op")
		})
	}
}

// BenchmarkWriteDiff writes the base layer's diff dir as a tar, as commit
// writes a container's rw layer.
func BenchmarkWriteDiff(b *testing.B) {
	s := benchStore(b)
	base := benchPut(b, s, layer.Meta{}, benchLayer(b, false))
	opts := layer.DiffOptions{Converter: s.Converter()}
	for b.Loop() {
		if err := layer.WriteDiff(context.Background(), io.Discard, s.DiffDir(base.ChainID), opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReassemble rebuilds the stored layer's exact stream from its
// diff dir and tar headers, as push, save and verify do.
func BenchmarkReassemble(b *testing.B) {
	s := benchStore(b)
	data := benchLayer(b, false)
	base := benchPut(b, s, layer.Meta{}, data)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		rc, err := s.Tar(base.ChainID)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil || n != int64(len(data)) {
			b.Fatalf("reassembled %d bytes of %d: %v", n, len(data), err)
		}
	}
}
