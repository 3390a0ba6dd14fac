package explore

import (
	"reflect"
	"testing"

	"github.com/layerctl/layerctl/pkg/layer"
)

func add(p string, size int64) File { return File{Path: p, Kind: layer.Added, Size: size} }
func mod(p string, size int64) File { return File{Path: p, Kind: layer.Modified, Size: size} }
func del(p string) File             { return File{Path: p, Kind: layer.Deleted} }
func dirOf(p string, k layer.ChangeKind) File {
	return File{Path: p, Kind: k, Dir: true}
}

func TestCompute(t *testing.T) {
	cases := []struct {
		name           string
		layers         [][]File
		base           int
		size, wasted   int64
		userWasted     int64
		inefficiencies []Inefficiency
	}{
		{"no waste", [][]File{{add("/a", 10)}, {add("/b", 5)}}, 0, 15, 0, 0, nil},
		{"added then deleted", [][]File{{add("/a", 10), add("/b", 1)}, {del("/a")}}, 0, 11, 10, 10,
			[]Inefficiency{{"/a", 1, 10}}},
		{"overwritten twice: the shown copy is no waste", [][]File{{add("/a", 10)}, {mod("/a", 20)}, {mod("/a", 30)}}, 0, 60, 30, 30,
			[]Inefficiency{{"/a", 3, 30}}},
		{"chown only: the old copy is hidden", [][]File{{add("/a", 7)}, {mod("/a", 7)}}, 0, 14, 7, 7,
			[]Inefficiency{{"/a", 2, 7}}},
		{"a deleted dir hides its files", [][]File{{dirOf("/d", layer.Added), add("/d/x", 4), add("/d/y", 6)}, {del("/d")}}, 0, 10, 10, 10,
			[]Inefficiency{{"/d/y", 1, 6}, {"/d/x", 1, 4}}},
		{"an opaque dir hides the lower children", [][]File{
			{dirOf("/d", layer.Added), add("/d/x", 4), add("/d/y", 6)},
			{{Path: "/d", Kind: layer.Modified, Dir: true, Opaque: true}, add("/d/z", 1), del("/d/x"), del("/d/y")}},
			0, 11, 10, 10, []Inefficiency{{"/d/y", 1, 6}, {"/d/x", 1, 4}}},
		{"a modified dir hides nothing", [][]File{{dirOf("/d", layer.Added), add("/d/x", 4)}, {dirOf("/d", layer.Modified), add("/d/z", 1)}}, 0, 5, 0, 0, nil},
		{"a file replacing a dir hides its files", [][]File{{dirOf("/d", layer.Added), add("/d/x", 4)}, {mod("/d", 2)}}, 0, 6, 4, 4,
			[]Inefficiency{{"/d/x", 1, 4}}},
		{"a hardlink keeps the content shown", [][]File{{add("/a", 9), {Path: "/b", Kind: layer.Added, Link: "/a"}}, {del("/a")}}, 0, 9, 0, 0, nil},
		{"both names of a hardlink hidden", [][]File{{add("/a", 9), {Path: "/b", Kind: layer.Added, Link: "/a"}}, {del("/a"), del("/b")}}, 0, 9, 9, 9,
			[]Inefficiency{{"/a", 1, 9}}},
		{"base waste is not the user's", [][]File{{add("/a", 10)}, {del("/a"), add("/b", 100)}, {add("/c", 50), mod("/b", 100)}}, 2, 260, 110, 100,
			[]Inefficiency{{"/b", 2, 100}, {"/a", 1, 10}}},
		{"a user layer hiding a base file is the user's waste", [][]File{{add("/a", 10)}, {del("/a"), add("/b", 40)}}, 1, 50, 10, 10,
			[]Inefficiency{{"/a", 1, 10}}},
		{"no layers", nil, 0, 0, 0, 0, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fig := Compute(c.layers, c.base)
			if fig.SizeBytes != c.size || fig.WastedBytes != c.wasted || fig.UserWastedBytes != c.userWasted {
				t.Errorf("size %d wasted %d user wasted %d, want %d %d %d", fig.SizeBytes, fig.WastedBytes, fig.UserWastedBytes, c.size, c.wasted, c.userWasted)
			}
			if !reflect.DeepEqual(fig.Inefficiencies, c.inefficiencies) {
				t.Errorf("inefficiencies %v, want %v", fig.Inefficiencies, c.inefficiencies)
			}
			wantEff := 1.0
			if c.size > 0 {
				wantEff = float64(c.size-c.wasted) / float64(c.size)
			}
			if fig.Efficiency != wantEff {
				t.Errorf("efficiency %v, want %v", fig.Efficiency, wantEff)
			}
		})
	}
}

func TestUserWastedPercent(t *testing.T) {
	// base: 100 bytes; user layers: 40 + 10 bytes, 10 of them overwritten.
	fig := Compute([][]File{{add("/base", 100)}, {add("/a", 40), add("/b", 10)}, {mod("/b", 10)}}, 1)
	if fig.UserSizeBytes != 60 || fig.UserWastedBytes != 10 {
		t.Fatalf("user size %d wasted %d, want 60 10", fig.UserSizeBytes, fig.UserWastedBytes)
	}
	if want := 10.0 / 60; fig.UserWastedPercent != want {
		t.Errorf("user wasted percent %v, want %v", fig.UserWastedPercent, want)
	}
}
