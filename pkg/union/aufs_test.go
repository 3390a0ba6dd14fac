package union_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/layerctl/layerctl/pkg/union"
	"github.com/layerctl/layerctl/pkg/union/uniontest"
	"github.com/layerctl/layerctl/pkg/whiteout"
)

func aufsDriver(t *testing.T) union.Driver {
	t.Helper()
	d, err := union.New(union.AUFS, union.Features{AUFS: true})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Branches go top first: the rw upper, then the init layer and the image's
// layers, which may carry whiteouts (ro+wh). xino lives beside the upper, not
// in a shared /tmp.
func TestAUFSDescribe(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    union.Branches
		want []string
	}{{
		name: "container",
		b:    union.Branches{Lower: []string{"/s/l/2", "/s/l/1"}, Init: "/s/c/1/init", Upper: "/s/c/1/rw", Work: "/s/c/1/work"},
		want: []string{"br=/s/c/1/rw=rw:/s/c/1/init=ro+wh:/s/l/2=ro+wh:/s/l/1=ro+wh", "dio", "xino=/s/c/1/.aufs.xino"},
	}, {
		name: "no init layer",
		b:    union.Branches{Lower: []string{"/l"}, Upper: "/u/rw"},
		want: []string{"br=/u/rw=rw:/l=ro+wh", "dio", "xino=/u/.aufs.xino"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := aufsDriver(t).Describe(tc.b)
			if err != nil {
				t.Fatal(err)
			}
			if m.Type != "aufs" || m.Source != "none" || m.Append != nil || m.Lowers != nil || m.Dir != "" {
				t.Errorf("mount = %+v", m)
			}
			if !slices.Equal(m.Options, tc.want) {
				t.Errorf("options\n\tgot  %q\n\twant %q", m.Options, tc.want)
			}
		})
	}
}

// What does not fit in one page of mount data is added by remounts
// ("append:DIR=ro+wh"), in order, each at the bottom; the first mount takes
// as many branches as fit.
func TestAUFSDescribeAppends(t *testing.T) {
	lower := layerPaths("/var/lib/layerctl", 100)
	b := union.Branches{Lower: lower, Init: "/var/lib/layerctl/containers/c/init", Upper: "/var/lib/layerctl/containers/c/rw"}
	m, err := aufsDriver(t).Describe(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Data()) >= 4096 {
		t.Fatalf("first mount has %d bytes of data, more than a page holds", len(m.Data()))
	}
	br, ok := strings.CutPrefix(m.Options[0], "br=")
	if !ok {
		t.Fatalf("options %q do not start with br=", m.Options)
	}
	var got []string
	for i, part := range strings.Split(br, ":") {
		dir, role, _ := strings.Cut(part, "=")
		if want := map[bool]string{true: "rw", false: "ro+wh"}[i == 0]; role != want {
			t.Errorf("branch %d %s has role %s, want %s", i, dir, role, want)
		}
		got = append(got, dir)
	}
	if len(m.Append) == 0 {
		t.Fatal("101 read-only branches fit in one page; want appends")
	}
	for _, a := range m.Append {
		dir, ok := strings.CutPrefix(a, "append:")
		if !ok || !strings.HasSuffix(dir, "=ro+wh") {
			t.Errorf("append option %q, want append:DIR=ro+wh", a)
		}
		got = append(got, strings.TrimSuffix(dir, "=ro+wh"))
	}
	want := append([]string{b.Upper, b.Init}, lower...)
	if !slices.Equal(got, want) {
		t.Errorf("branches in mount and appends\n\tgot  %q\n\twant %q", got, want)
	}
	// The first append would not have fitted in the page.
	next := ":" + strings.TrimPrefix(m.Append[0], "append:")
	if len(m.Data())+len(next) < 4096 {
		t.Errorf("%d bytes of data, and %q would still fit: the page is not used up", len(m.Data()), next)
	}
}

func TestAUFSDescribeErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    union.Branches
	}{
		{"no upper", union.Branches{Lower: []string{"/l"}}},
		{"colon in a layer", union.Branches{Lower: []string{"/l:x"}, Upper: "/u"}},
		{"comma in a layer", union.Branches{Lower: []string{"/l,x"}, Upper: "/u"}},
		{"equals in init", union.Branches{Lower: []string{"/l"}, Init: "/i=rw", Upper: "/u"}},
		{"equals in the upper", union.Branches{Lower: []string{"/l"}, Upper: "/u=ro"}},
		{"beyond 127 branches", union.Branches{Lower: layerPaths("/s", 127), Upper: "/u"}},
	} {
		if m, err := aufsDriver(t).Describe(tc.b); err == nil {
			t.Errorf("%s: got %s, want an error", tc.name, m)
		}
	}
	// One short of the limit stacks: MaxLayers read-only branches plus the upper.
	n := aufsDriver(t).MaxLayers()
	if _, err := aufsDriver(t).Describe(union.Branches{Lower: layerPaths("/s", n), Upper: "/u"}); err != nil {
		t.Errorf("%d read-only branches (MaxLayers): %v", n, err)
	}
}

// On a kernel without aufs (mainline Linux, like this one most likely),
// asking for the driver says so and what to use instead.
func TestAUFSUnavailable(t *testing.T) {
	f := uniontest.Features()
	if f.AUFS {
		f = union.Features{Overlay: true} // a kernel like most
	}
	_, err := union.New(union.AUFS, f)
	if !errors.Is(err, union.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	for _, want := range []string{"aufs", "not available on this kernel", "--driver overlay"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// A live aufs mount: a whiteout in the upper layer hides a lower file, and
// the appended branches are part of the stack.
func TestAUFSMount(t *testing.T) {
	uniontest.RequireRoot(t)
	f := uniontest.Features()
	d, err := union.New(union.AUFS, f)
	if err != nil {
		t.Skipf("no live aufs test: %v", err)
	}
	dir := t.TempDir()
	uniontest.CleanupMounts(t, dir)
	var lower []string
	for i := range 3 {
		l := filepath.Join(dir, "l", string(rune('a'+i)))
		mkfile(t, filepath.Join(l, "f"+string(rune('a'+i))), "layer\n")
		lower = append(lower, l)
	}
	upper, merged := filepath.Join(dir, "rw"), filepath.Join(dir, "merged")
	mkfile(t, filepath.Join(upper, whiteout.TarName("fb")), "")
	if err := os.Mkdir(merged, 0o755); err != nil {
		t.Fatal(err)
	}
	m, err := d.Describe(union.Branches{Lower: lower, Upper: upper})
	if err != nil {
		t.Fatal(err)
	}
	uniontest.Perform(t, m, merged)
	for name, want := range map[string]bool{"fa": true, "fb": false, "fc": true} {
		if _, err := os.Stat(filepath.Join(merged, name)); (err == nil) != want {
			t.Errorf("%s visible: %v, want %v", name, err == nil, want)
		}
	}
}

func mkfile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
