package uniontest

import (
	"fmt"
	"testing"

	lt "github.com/layerctl/layerctl/pkg/layer/layertest"
	"github.com/layerctl/layerctl/pkg/whiteout"
)

// Shape is a hand-made image that exercises one group of union rules.
type Shape struct {
	Name   string
	Layers [][]lt.Entry // base first
	// Extract tells whether go-containerregistry's flattening agrees with a
	// union on this image. It does not for a directory that comes back over
	// a file that replaced it without an opaque marker: mutate.Extract
	// lets the first directory's children through.
	Extract bool
}

// Tars builds the shape's layer tars.
func (s Shape) Tars(t testing.TB) [][]byte {
	t.Helper()
	out := make([][]byte, len(s.Layers))
	for i, l := range s.Layers {
		out[i] = lt.Tar(t, l...)
	}
	return out
}

func wh(dir, name string) lt.Entry { return lt.File(dir+whiteout.TarName(name), "") }

func opaque(dir string) lt.Entry { return lt.File(dir+whiteout.OpaqueMarker, "") }

// Shapes are the images every way of stacking layers must show alike.
func Shapes() []Shape {
	return []Shape{{
		Name:    "whiteouts",
		Extract: true,
		Layers: [][]lt.Entry{{
			lt.Dir("./", lt.Mode(0o755)),
			lt.Dir("bin/"),
			lt.File("bin/su", "setuid\n", lt.Mode(0o4755)),
			lt.File("bin/wall", "setgid\n", lt.Mode(0o2755), lt.Owner(0, 5)),
			lt.Dir("data/", lt.Xattr("user.dir", "d1")),
			lt.File("data/gone", "gone\n"),
			lt.File("data/keep", "keep\n", lt.Xattr("user.color", "blue")),
			lt.File("data/owned", "owned\n", lt.Owner(1000, 1001), lt.Mode(0o640)),
			lt.Dir("data/sub/"),
			lt.File("data/sub/x", "x\n"),
			lt.File("data/tmp", "tmp\n"),
			lt.Dir("etc/"),
			lt.File("etc/group", "root:x:0:\n", lt.Xattr("user.group", "g")),
			lt.File("etc/passwd", "root:x:0:0\n"),
			lt.Fifo("fifo", lt.Mode(0o620), lt.Owner(3, 4)),
			lt.Dir("hard/"),
			lt.File("hard/a", "shared\n", lt.Owner(7, 8), lt.Mode(0o600)),
			lt.Hardlink("hard/b", "hard/a"),
			lt.Char("null", 1, 3),
			lt.Dir("opq/"),
			lt.Dir("opq/olddir/"),
			lt.File("opq/olddir/deep", "deep\n"),
			lt.File("opq/old1", "old1\n"),
			lt.Dir("re/"),
			lt.File("re/old", "old\n"),
			lt.Symlink("abs", "/etc/passwd"),
			lt.Symlink("rel", "etc/passwd"),
			lt.Dir("sticky/", lt.Mode(0o1777)),
			lt.File("swap", "file\n"),
		}, {
			lt.Dir("data/", lt.Xattr("user.dir", "d1")),
			wh("data/", "gone"),
			wh("data/", "sub"),
			wh("data/", "tmp"),
			lt.Dir("hard/"),
			// A hardlink to a lower layer's file: the store copies the target up.
			lt.Hardlink("hard/c", "etc/passwd"),
			lt.Dir("opq/"),
			opaque("opq/"),
			lt.Dir("opq/newdir/", lt.Mode(0o700), lt.Owner(1, 1)),
			lt.File("opq/newdir/child", "child\n"),
			lt.File("opq/new1", "new1\n"),
			wh("", "re"),
			lt.Dir("swap/"),
			lt.File("swap/inner", "inner\n"),
		}, {
			lt.Dir("./", lt.Mode(0o751), lt.Owner(0, 10)),
			lt.Dir("data/", lt.Mode(0o775), lt.Xattr("user.dir", "d3")),
			lt.File("data/gone", "back again\n", lt.Owner(2, 2)),
			lt.File("data/keep", "keep v2\n", lt.Xattr("user.color", "red")),
			lt.Dir("etc/", lt.Mode(0o750)),
			lt.File("etc/shadow", "root:*:1::::::\n", lt.Mode(0o640), lt.Owner(0, 42)),
			lt.Dir("re/"),
			lt.File("re/new", "new\n"),
			lt.Symlink("rel", "etc/group"),
			lt.File("swap", "file again\n", lt.Mode(0o600)),
		}},
	}, {
		Name:    "dir-file-dir",
		Extract: false,
		Layers: [][]lt.Entry{{
			lt.Dir("./"),
			lt.Dir("flip/"),
			lt.File("flip/old", "old\n"),
			lt.File("flop", "file\n"),
		}, {
			lt.File("flip", "now a file\n"),
			lt.Dir("flop/"),
			lt.File("flop/in", "in\n"),
		}, {
			lt.Dir("flip/"),
			lt.File("flip/new", "new\n"),
			lt.Symlink("flop", "flip"),
		}},
	}}
}

// Deep is an image of n tiny layers: layer k adds /d/k and deletes the file
// the layer below added, so only the top file and the whiteouts' effect
// show.
func Deep(n int) Shape {
	s := Shape{Name: fmt.Sprintf("deep-%d", n), Extract: true}
	for k := range n {
		l := []lt.Entry{lt.Dir("d/"), lt.File(fmt.Sprintf("d/%d", k), fmt.Sprintf("layer %d\n", k))}
		if k == 0 {
			l = append([]lt.Entry{lt.Dir("./")}, l...)
		} else {
			l = append(l, wh("d/", fmt.Sprint(k-1)))
		}
		if k%50 == 0 {
			l = append(l, lt.Dir("keep/"), lt.File(fmt.Sprintf("keep/%d", k), "kept\n"))
		}
		s.Layers = append(s.Layers, l)
	}
	return s
}
