package union_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/layerctl/layerctl/pkg/union"
)

// kernel is a machine with overlayfs, the given release and the plain-diff
// options it knows.
func kernel(release string, known ...string) union.Features {
	f := union.Features{Overlay: true, Kernel: release, OverlayOptions: map[string]bool{}}
	for _, o := range known {
		f.OverlayOptions[o] = true
	}
	return f
}

var allPlain = []string{"index", "redirect_dir", "metacopy", "xino_auto", "nfs_export"}

func overlayDriver(t *testing.T, f union.Features) union.Driver {
	t.Helper()
	d, err := union.New(union.Overlay, f)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// layerPaths makes n layer dirs under root as a store names them.
func layerPaths(root string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = filepath.Join(root, "layers", fmt.Sprintf("%064x", i), "diff")
	}
	return out
}

func TestOverlayDescribe(t *testing.T) {
	small := union.Branches{
		Lower: []string{"/s/layers/2/diff", "/s/layers/1/diff"},
		Init:  "/s/c/1/init", Upper: "/s/c/1/rw", Work: "/s/c/1/work",
	}
	for _, tc := range []struct {
		name string
		f    union.Features
		b    union.Branches
		want []string
	}{{
		// The upper dir must stay a plain diff that commit can read.
		name: "plain-diff options when known",
		f:    kernel("6.18.44", allPlain...),
		b:    small,
		want: []string{"lowerdir=/s/c/1/init:/s/layers/2/diff:/s/layers/1/diff", "upperdir=/s/c/1/rw", "workdir=/s/c/1/work", "index=off", "redirect_dir=off", "metacopy=off"},
	}, {
		// An old kernel rejects parameters it does not know.
		name: "only the options the kernel knows",
		f:    kernel("4.19.0", "index"),
		b:    small,
		want: []string{"lowerdir=/s/c/1/init:/s/layers/2/diff:/s/layers/1/diff", "upperdir=/s/c/1/rw", "workdir=/s/c/1/work", "index=off"},
	}, {
		name: "no init layer",
		f:    kernel("6.18", allPlain...),
		b:    union.Branches{Lower: []string{"/a", "/b"}, Upper: "/u", Work: "/w"},
		want: []string{"lowerdir=/a:/b", "upperdir=/u", "workdir=/w", "index=off", "redirect_dir=off", "metacopy=off"},
	}, {
		name: "read-only, no upper",
		f:    kernel("6.18"),
		b:    union.Branches{Lower: []string{"/a", "/b"}},
		want: []string{"lowerdir=/a:/b"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := overlayDriver(t, tc.f).Describe(tc.b)
			if err != nil {
				t.Fatal(err)
			}
			if m.Type != "overlay" || m.Source != "overlay" || m.Dir != "" || m.Lowers != nil || m.Append != nil {
				t.Errorf("mount = %+v, want a plain overlay mount", m)
			}
			if !slices.Equal(m.Options, tc.want) {
				t.Errorf("options\n\tgot  %q\n\twant %q", m.Options, tc.want)
			}
		})
	}
}

// A lower list longer than a page goes as one "lowerdir+" parameter per
// layer on 6.8 and later, and as names relative to the layers' common
// directory before.
func TestOverlayDescribeLongLists(t *testing.T) {
	root := "/var/lib/layerctl/" + strings.Repeat("r", 60)
	lower := layerPaths(root, 45)
	b := union.Branches{Lower: lower, Init: root + "/containers/c/init", Upper: root + "/containers/c/rw", Work: root + "/containers/c/work"}
	ro := append([]string{b.Init}, lower...)
	tail := []string{"upperdir=" + b.Upper, "workdir=" + b.Work, "index=off", "redirect_dir=off", "metacopy=off"}

	for _, release := range []string{"6.8.0", "6.18.44-fc", "7.0"} {
		m, err := overlayDriver(t, kernel(release, allPlain...)).Describe(b)
		if err != nil {
			t.Fatalf("%s: %v", release, err)
		}
		if !slices.Equal(m.Lowers, ro) || !slices.Equal(m.Options, tail) || m.Dir != "" {
			t.Errorf("%s: got %.300s with options %q, want lowerdir+ for each layer", release, m, m.Options)
		}
	}

	for _, release := range []string{"6.7.12", "5.10.0", "4.19", "unknown"} {
		m, err := overlayDriver(t, kernel(release, allPlain...)).Describe(b)
		if err != nil {
			t.Fatalf("%s: %v", release, err)
		}
		var rel []string
		for _, l := range ro {
			rel = append(rel, strings.TrimPrefix(l, root+"/"))
		}
		want := append([]string{"lowerdir=" + strings.Join(rel, ":")}, tail...)
		if m.Dir != root || m.Lowers != nil || !slices.Equal(m.Options, want) {
			t.Errorf("%s: got %.300s..., want names relative to %s", release, m, root)
		}
		if len(m.Data()) >= 4096 {
			t.Errorf("%s: %d bytes of mount data do not fit in a page", release, len(m.Data()))
		}
	}

	// Too many even as relative names: an error that says what to do.
	_, err := overlayDriver(t, kernel("6.1")).Describe(union.Branches{Lower: layerPaths(root, 60), Upper: "/u", Work: "/w"})
	if err == nil || !strings.Contains(err.Error(), "flatten") {
		t.Errorf("60 layers on 6.1: err = %v, want one that says to flatten", err)
	}
}

// MaxLayers is what one mount takes: the overlayfs stack limit with
// lowerdir+, and what fits in a page of relative names without it (a store
// root of 390 bytes included), so deeper images are flattened first.
func TestOverlayMaxLayers(t *testing.T) {
	if got := overlayDriver(t, kernel("6.8")).MaxLayers(); got != 500 {
		t.Errorf("6.8: MaxLayers = %d, want 500", got)
	}
	d := overlayDriver(t, kernel("6.1", allPlain...))
	n := d.MaxLayers()
	root := "/" + strings.Repeat("r", 389)
	id := fmt.Sprintf("%064x", 1)
	b := union.Branches{
		Init:  root + "/containers/" + id + "/init",
		Lower: append(layerPaths(root, n-2), root+"/flat/"+id),
		Upper: root + "/containers/" + id + "/rw",
		Work:  root + "/containers/" + id + "/work",
	}
	if _, err := d.Describe(b); err != nil {
		t.Errorf("6.1: %d branches (MaxLayers) do not mount: %v", n, err)
	}
}

func TestOverlayDescribeErrors(t *testing.T) {
	d := overlayDriver(t, kernel("6.18"))
	for _, tc := range []struct {
		name string
		b    union.Branches
	}{
		{"no lower layer", union.Branches{Upper: "/u", Work: "/w"}},
		{"colon in a layer", union.Branches{Lower: []string{"/a:b"}, Upper: "/u", Work: "/w"}},
		{"comma in a layer", union.Branches{Lower: []string{"/a,b"}, Upper: "/u", Work: "/w"}},
		{"comma in init", union.Branches{Lower: []string{"/a"}, Init: "/i,x", Upper: "/u", Work: "/w"}},
		{"comma in the upper", union.Branches{Lower: []string{"/a"}, Upper: "/u,lowerdir=/etc", Work: "/w"}},
		{"colon in the work dir", union.Branches{Lower: []string{"/a"}, Upper: "/u", Work: "/w:x"}},
		{"beyond the stack limit", union.Branches{Lower: layerPaths("/s", 501), Upper: "/u", Work: "/w"}},
	} {
		if m, err := d.Describe(tc.b); err == nil {
			t.Errorf("%s: got %s, want an error", tc.name, m)
		}
	}
}

func TestMountString(t *testing.T) {
	m := union.Mount{Type: "overlay", Source: "overlay", Options: []string{"upperdir=/u", "workdir=/w"}, Lowers: []string{"/a", "/b"}}
	if got, want := m.String(), `type=overlay source=overlay data="upperdir=/u,workdir=/w" lowerdir+=2 layers`; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
}
