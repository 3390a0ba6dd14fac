package explore

import (
	"fmt"
	"reflect"
	"sort"
	"testing"

	"github.com/layerctl/layerctl/pkg/layer"
)

// viewLayers: a base with /etc/{a,b} and /d/x, then a layer that modifies
// /etc/a, deletes /d and adds /etc/c.
var viewLayers = [][]File{
	{dirOf("/etc", layer.Added), add("/etc/a", 1), add("/etc/b", 2), dirOf("/d", layer.Added), add("/d/x", 4)},
	{dirOf("/etc", layer.Modified), mod("/etc/a", 10), add("/etc/c", 3), del("/d")},
}

func dump(v *View) []string {
	var out []string
	for p, e := range v.entries {
		out = append(out, fmt.Sprintf("%s %s %d L%d", p, e.Kind, e.Size, e.Layer))
	}
	sort.Strings(out)
	return out
}

func TestNewView(t *testing.T) {
	cases := []struct {
		name string
		idx  int
		all  bool
		want []string
	}{
		{"all up to the top", 1, true, []string{"/d deleted 0 L-1", "/etc modified 15 L1", "/etc/a modified 10 L1", "/etc/b unchanged 2 L0", "/etc/c added 3 L1"}},
		{"the top's changes", 1, false, []string{"/d deleted 0 L-1", "/etc modified 13 L1", "/etc/a modified 10 L1", "/etc/c added 3 L1"}},
		{"the base", 0, true, []string{"/d added 4 L0", "/d/x added 4 L0", "/etc added 3 L0", "/etc/a added 1 L0", "/etc/b added 2 L0"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := dump(NewView(viewLayers, c.idx, c.all)); !reflect.DeepEqual(got, c.want) {
				t.Errorf("view %q, want %q", got, c.want)
			}
		})
	}
}

func TestViewChildrenAndVisible(t *testing.T) {
	v := NewView(viewLayers, 1, true)
	names := func(es []*ViewEntry) (out []string) {
		for _, e := range es {
			out = append(out, e.Path)
		}
		return out
	}
	if got := names(v.Children("/etc", false)); !reflect.DeepEqual(got, []string{"/etc/a", "/etc/b", "/etc/c"}) {
		t.Errorf("children by name %q", got)
	}
	if got := names(v.Children("/etc", true)); !reflect.DeepEqual(got, []string{"/etc/a", "/etc/c", "/etc/b"}) {
		t.Errorf("children by size %q", got)
	}
	if v.Visible(nil, "") != nil {
		t.Error("no filter, no hidden kind: want all visible (nil)")
	}
	vis := v.Visible(map[layer.ChangeKind]bool{layer.Unchanged: true, layer.Deleted: true}, "")
	if want := map[string]bool{"/etc": true, "/etc/a": true, "/etc/c": true}; !reflect.DeepEqual(vis, want) {
		t.Errorf("hiding unchanged and removed: %v, want %v", vis, want)
	}
	if vis := v.Visible(nil, "/etc/b"); !reflect.DeepEqual(vis, map[string]bool{"/etc": true, "/etc/b": true}) {
		t.Errorf("filter /etc/b: %v", vis)
	}
}
