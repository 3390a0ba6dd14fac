package layer

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vbatts/tar-split/archive/tar"
	"golang.org/x/sys/unix"

	lt "github.com/layerctl/layerctl/pkg/layer/layertest"
	"github.com/layerctl/layerctl/pkg/whiteout"
)

// Limits that keep one fuzz iteration to a millisecond or so: a tiny input can
// declare a huge (sparse) file that would be written out in full. Cheap
// iterations matter doubly because the fuzzer minimizes each new input.
const (
	fuzzMaxInput   = 32 << 10
	fuzzMaxEntries = 32
	fuzzMaxSize    = 16 << 10
)

// fuzzSeeds are good and hostile layers. They aim at the applyEnv layout with
// relative paths (the diff dir is base/p/root, beside base/p/sentinel and
// base/p/outside/secret); an escape through "/" is looked for at fuzzEscape.
func fuzzSeeds(f *testing.F) [][]byte {
	seeds := [][]L{
		{lt.Dir("./", lt.Mode(0o700), lt.Owner(1, 2)), lt.Dir("d/", lt.MTime(t1)), lt.File("d/f", "hello", lt.Mode(0o4755), lt.Owner(1000, 1000)),
			lt.Symlink("d/l", "f"), lt.Hardlink("d/h", "d/f"), lt.Char("c", 1, 3), lt.Block("b", 7, 0), lt.Fifo("p")},
		{lt.File(longPath, "long", lt.Xattr("user.a", "1")), lt.Dir("x/", lt.Xattr("trusted.overlay.opaque", "y"))},
		{lt.File(".wh.gone", ""), lt.File("d/.wh..wh..opq", ""), lt.File("d/a", "1"), lt.File("x", "k"), lt.File(".wh.x", ""), lt.File(".wh..wh.plnk", "")},
		{lt.Dir("d/"), lt.File("d/x", "1"), lt.File("d", "f"), lt.Dir("e/"), lt.Symlink("e", "d"), lt.Dir("d/", lt.Mode(0o711))},
		{lt.Dir("bin/"), lt.Hardlink("bin/tool", "usr/lib/tool"), lt.Hardlink("t2", "usr/lib/tool")}, // from the lower layer
		{lt.File("etc/passwd", "root"), globalHeader("etc")},
		{lt.File("../sentinel/x", "1")},
		{lt.File("a/../../x", "1")},
		{lt.File(fuzzEscape, "1")},
		{lt.Symlink("a", "../sentinel"), lt.File("a/x", "1")},
		{lt.Symlink("a", "../.."), lt.Dir("a/d/")},
		{lt.Symlink("a", "/"), lt.File("a"+fuzzEscape, "1")},
		{lt.Symlink("a", "../outside"), lt.Hardlink("h", "a/secret")},
		{lt.Symlink("a", "../sentinel"), lt.File("f", "1"), lt.Hardlink("a/h", "f")},
		{lt.Symlink("a", "../sentinel"), lt.File("a/.wh.x", ""), lt.File("a/.wh..wh..opq", "")},
		{lt.Hardlink("h", "../outside/secret")},
		{lt.Hardlink("h", "/etc/passwd")},
		{lt.File(".wh...", ""), lt.File("a/.wh..", "")},
		{lt.Symlink(".", "../sentinel"), lt.File("x", "1")},
		{lt.File(".", "x")},
		// FIFOs and devices below, reached by hardlinks and implied parents:
		// never opened.
		{lt.Hardlink("h", "lower/p"), lt.Hardlink("d/c", "lower/c"), lt.File("lower/p/x", "1"), lt.Fifo("f"), lt.Hardlink("g", "f")},
		// Paths twice, entries replaced within the layer.
		{lt.File("f", "old"), lt.Hardlink("h", "f"), lt.File("f", "new"), lt.Dir("d/"), lt.File("d/x", "1"), lt.File("d", "2"), lt.Fifo("p"), lt.File("p", "3")},
		{lt.Symlink("l", "x"), lt.Dir("l/"), lt.File(".wh.w", "payload"), lt.File("w", "w"), lt.Char("c", 1, 3, lt.Mode(0o4644)), lt.Dir("c/")},
		// Sparse files, each of the GNU forms.
		{lt.Sparse("s", 16<<10, map[int64]string{0: "head", 16<<10 - 4: "tail"}, lt.SparseGNU), lt.File("s2", "x")},
		{lt.Sparse("s", 12<<10, map[int64]string{4096: "data"}, lt.SparsePAX01), lt.Sparse("s", 8<<10, nil, lt.SparsePAX10)},
	}
	var out [][]byte
	for _, s := range seeds {
		out = append(out, lt.Tar(f, s...))
	}
	// Truncated and padded streams exercise the reader's error paths.
	first := out[0]
	out = append(out, first[:700], first[:len(first)-1024], append(bytes.Clone(first), make([]byte, 9000)...))
	return out
}

// cheap reports whether data stays within the per-iteration limits, reading
// it with the applier's own tar parser.
func cheap(data []byte) bool {
	if len(data) > fuzzMaxInput {
		return false
	}
	tr := tar.NewReader(bytes.NewReader(data))
	for n := 0; ; n++ {
		hdr, err := tr.Next()
		if err != nil {
			return true // io.EOF, or an error Apply stops at too
		}
		if n >= fuzzMaxEntries || hdr.Size > fuzzMaxSize {
			return false
		}
	}
}

const fuzzEscape = "/layerctl-fuzz-escape"

func FuzzApply(f *testing.F) {
	if os.Geteuid() != 0 {
		f.Skip("needs root: extracting layers does mknod, chown and sets trusted.* xattrs")
	}
	for _, s := range fuzzSeeds(f) {
		f.Add(s, false)
		f.Add(s, true)
	}
	// One layout per fuzz process, checked after every iteration; only the diff
	// dir is made afresh, which keeps an iteration to a few syscalls.
	e := newApplyEnv(f)
	if err := os.MkdirAll(filepath.Join(e.lower, "usr/lib"), 0o755); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.lower, "usr/lib/tool"), []byte("tool"), 0o755); err != nil {
		f.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(e.lower, "lower"), 0o755); err != nil {
		f.Fatal(err)
	}
	if err := unix.Mkfifo(filepath.Join(e.lower, "lower/p"), 0o644); err != nil {
		f.Fatal(err)
	}
	if err := unix.Mknod(filepath.Join(e.lower, "lower/c"), unix.S_IFCHR|0o644, int(unix.Mkdev(1, 3))); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, files bool) {
		if !cheap(data) {
			t.Skip("too costly for one iteration")
		}
		if err := os.RemoveAll(e.root); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(e.root, 0o755); err != nil {
			t.Fatal(err)
		}
		format := whiteout.FormatOverlay
		if files {
			format = whiteout.FormatFiles
		}
		var split bytes.Buffer
		shadow := filepath.Join(t.TempDir(), "shadow")
		_, err := Apply(context.Background(), e.root, bytes.NewReader(data), ApplyOptions{Converter: converter(t, format), Lower: lowerIn(e.lower), TarSplit: &split, Shadow: shadow})
		// A layer that applies reassembles byte for byte.
		if err == nil {
			var out bytes.Buffer
			if rerr := Reassemble(e.root, shadow, &split, &out); rerr != nil || !bytes.Equal(out.Bytes(), data) {
				t.Errorf("reassembled %d bytes (%v), want the %d applied", out.Len(), rerr, len(data))
			}
		}
		// Whatever the outcome, nothing outside the diff dir changed and the
		// root is still a directory.
		e.checkContained(t)
		var st unix.Stat_t
		if lerr := unix.Lstat(e.root, &st); lerr != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
			t.Fatalf("layer root replaced (apply err %v)", err)
		}
		if os.Remove(fuzzEscape) == nil { // removed, so later runs are not blamed
			t.Fatal("an entry escaped to " + fuzzEscape)
		}
		if n := dirNames(t, filepath.Join(e.lower, "usr/lib")); len(n) != 1 || lstat(t, filepath.Join(e.lower, "usr/lib/tool")).Nlink != 1 {
			t.Fatalf("lower layer changed: %q", n)
		}
	})
}
