package layer

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/layerctl/layerctl/pkg/whiteout"
)

// BenchmarkApplyUsrBin applies a tar of the host's /usr/bin, ordinary
// binaries: what looking for runs of zeros costs on a normal pull.
func BenchmarkApplyUsrBin(b *testing.B) {
	needRoot(b)
	data, err := exec.Command("tar", "--format=posix", "-C", "/usr", "-cf", "-", "bin").Output()
	if err != nil {
		b.Skipf("GNU tar of /usr/bin: %v", err)
	}
	conv, err := whiteout.ForFormat(whiteout.FormatOverlay)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		dir := b.TempDir()
		if _, err := Apply(context.Background(), dir, bytes.NewReader(data), ApplyOptions{Converter: conv, TarSplit: &bytes.Buffer{}}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		os.RemoveAll(dir)
		b.StartTimer()
	}
}
