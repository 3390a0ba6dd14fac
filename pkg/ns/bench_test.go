package ns

import (
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// BenchmarkRunTrue is spawn to exit of /bin/true in a new container, as
// layerctl run would do it once the rootfs is mounted (the sealed copy of
// the binary is made once per process and not counted; see
// TestSelfCopyIsSealed for its cost).
func BenchmarkRunTrue(b *testing.B) {
	requireNS(b)
	for _, c := range []struct {
		name string
		spec Spec
	}{
		{"net=none", Spec{}},
		{"net=host", Spec{Net: NetHost}},
	} {
		b.Run(c.name, func(b *testing.B) {
			spec := c.spec
			spec.Rootfs = newRootfs(b)
			spec.Args = []string{"/bin/true"}
			for b.Loop() {
				p, err := Start(spec)
				if err != nil {
					b.Fatal(err)
				}
				if code, err := p.Wait(); code != 0 || err != nil {
					b.Fatalf("exit %d, %v", code, err)
				}
			}
		})
	}
}

// TestRunTiming logs what a run of /bin/true costs, from Start to the
// process running and to Wait returning: minimum, median and 90th
// percentile, for the machine may be busy.
func TestRunTiming(t *testing.T) {
	requireNS(t)
	if testing.Short() {
		t.Skip("timing")
	}
	spec := Spec{Rootfs: newRootfs(t), Args: []string{"/bin/true"}}
	if _, err := selfPath(); err != nil {
		t.Fatal(err)
	}
	const n = 30
	var started, total []time.Duration
	for range n {
		t0 := time.Now()
		p, err := Start(spec)
		if err != nil {
			t.Fatal(err)
		}
		started = append(started, time.Since(t0))
		p.Wait()
		total = append(total, time.Since(t0))
	}
	q := func(d []time.Duration) string {
		slices.Sort(d)
		return fmt.Sprintf("min %v, median %v, p90 %v", d[0], d[len(d)/2], d[len(d)*9/10])
	}
	t.Logf("run /bin/true, %d times: to exec: %s; to exit: %s; sealed copy of the binary, once: %v",
		n, q(started), q(total), SelfCopyCost())
}

// BenchmarkSealedCopy is the cost of the sealed copy of a binary (this test
// binary; LAYERCTL_BENCH_EXE names another, such as bin/layerctl).
func BenchmarkSealedCopy(b *testing.B) {
	exe := "/proc/self/exe"
	if e := os.Getenv("LAYERCTL_BENCH_EXE"); e != "" {
		exe = e
	}
	fi, err := os.Stat(exe)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	for b.Loop() {
		fd, err := sealedCopy(exe)
		if err != nil {
			b.Fatal(err)
		}
		unix.Close(fd)
	}
}
