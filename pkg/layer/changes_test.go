package layer_test

// Tests of the change walker (WalkChanges, Store.LayerChanges) on hand-made
// diff directories, each case in every native whiteout form.

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/layer"
	"github.com/layerctl/layerctl/pkg/layer/layertest"
	"github.com/layerctl/layerctl/pkg/whiteout"
)

// buildDiff makes a diff dir in the form of c from a list of specs:
// "d/" a directory, "f=body" a file, "wh:p" a whiteout of p, "opq:d" marks
// the directory d opaque, "ln:a=b" a hardlink a to b, "sym:s=t" a symlink.
func buildDiff(t *testing.T, c whiteout.Converter, specs ...string) string {
	t.Helper()
	dir := t.TempDir()
	open := func(rel string) int {
		t.Helper()
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		return fd
	}
	for _, s := range specs {
		var err error
		switch {
		case strings.HasPrefix(s, "wh:"):
			p := s[3:]
			fd := open(filepath.Dir(p))
			err = c.Whiteout(fd, filepath.Base(p))
			unix.Close(fd)
		case strings.HasPrefix(s, "opq:"):
			fd := open(s[4:])
			err = c.Opaque(fd)
			unix.Close(fd)
		case strings.HasPrefix(s, "ln:"):
			a, b, _ := strings.Cut(s[3:], "=")
			err = os.Link(filepath.Join(dir, b), filepath.Join(dir, a))
		case strings.HasPrefix(s, "sym:"):
			a, b, _ := strings.Cut(s[4:], "=")
			err = os.Symlink(b, filepath.Join(dir, a))
		case strings.HasSuffix(s, "/"):
			unix.Close(open(s))
		default:
			name, body, _ := strings.Cut(s, "=")
			unix.Close(open(filepath.Dir(name)))
			err = os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644)
		}
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return dir
}

// describe renders a change as "A path", "M path", "D path" with markers:
// " wh" a whiteout of its own, " opq" an opaque directory, " =first" a
// hardlink, " lower" a Deleted change of an entry the lower layers show.
func describe(c layer.Change) string {
	s := strings.ToUpper(c.Kind.String()[:1]) + " " + c.Path
	if c.Whiteout {
		s += " wh"
	}
	if c.Opaque {
		s += " opq"
	}
	if c.Link != "" {
		s += " =" + c.Link
	}
	if c.Kind == layer.Deleted && c.Lower != nil {
		s += " lower"
	}
	return s
}

func walkAll(t *testing.T, upper string, opts layer.WalkOptions) []string {
	t.Helper()
	var got []string
	err := layer.WalkChanges(context.Background(), upper, opts, func(c layer.Change) error {
		if (c.Kind == layer.Added && c.Lower != nil) || ((c.Kind == layer.Modified || c.Kind == layer.Unchanged) && c.Lower == nil) {
			t.Errorf("%s: Lower %v for kind %v", c.Path, c.Lower != nil, c.Kind)
		}
		if (c.Source == "") != (c.Kind == layer.Deleted && !c.Whiteout) {
			t.Errorf("%s: Source %q for kind %v, whiteout %v", c.Path, c.Source, c.Kind, c.Whiteout)
		}
		got = append(got, describe(c))
		return nil
	})
	if err != nil {
		t.Fatalf("WalkChanges: %v", err)
	}
	return got
}

// walkFormats are the native forms each case runs in: the overlay ones make
// char devices and trusted.* xattrs, so they need root.
func walkFormats(t *testing.T) []whiteout.Format {
	if os.Geteuid() != 0 {
		return []whiteout.Format{whiteout.FormatFiles}
	}
	return []whiteout.Format{whiteout.FormatFiles, whiteout.FormatOverlay}
}

func TestWalkChanges(t *testing.T) {
	tests := []struct {
		name    string
		lower   [][]string // nearest first
		upper   []string
		exclude func(string) bool
		want    []string
	}{{
		name:  "a base layer is all added, a directory before its children",
		upper: []string{"b/z=1", "b/a=2", "a=3", "c/"},
		want:  []string{"A a", "A b", "A b/a", "A b/z", "A c"},
	}, {
		name:  "modified where a lower layer shows the path",
		lower: [][]string{{"etc/passwd=root", "etc/group=g"}},
		upper: []string{"etc/passwd=me", "etc/shadow=s"},
		want:  []string{"M etc", "M etc/passwd", "A etc/shadow"},
	}, {
		name:  "a whiteout deletes, also of a path no lower layer shows",
		lower: [][]string{{"gone=x", "d/sub/f=y"}},
		upper: []string{"wh:gone", "wh:d", "wh:never"},
		want:  []string{"D d wh lower", "D gone wh lower", "D never wh"},
	}, {
		name:  "an opaque directory hides the lower children it does not replace",
		lower: [][]string{{"d/a=1", "d/b=2", "d/sub/x=3"}},
		upper: []string{"d/a=new", "d/c=4", "opq:d"},
		want:  []string{"M d opq", "A d/a", "D d/b lower", "A d/c", "D d/sub lower"},
	}, {
		name:  "a whiteout in a nearer lower layer hides the deeper copy",
		lower: [][]string{{"wh:x", "d/"}, {"x=old", "d/y=old"}},
		upper: []string{"x=new", "d/y=new"},
		want:  []string{"M d", "M d/y", "A x"},
	}, {
		name:  "an opaque lower directory hides the deeper children",
		lower: [][]string{{"d/kept=1", "opq:d"}, {"d/old=2", "d/kept=0"}},
		upper: []string{"d/old=3", "d/kept=4"},
		want:  []string{"M d", "M d/kept", "A d/old"},
	}, {
		name:  "a lower file hides a deeper directory of its name",
		lower: [][]string{{"f=file"}, {"f/x=deep"}},
		upper: []string{"f/x=new"},
		want:  []string{"M f", "A f/x"},
	}, {
		name:  "a directory that replaces a lower file has new children",
		lower: [][]string{{"d=file"}},
		upper: []string{"d/x=1"},
		want:  []string{"M d", "A d/x"},
	}, {
		name:  "hardlinks name the first path walked",
		upper: []string{"m=same", "a/", "ln:a/second=m", "ln:z=m", "single=s"},
		want:  []string{"A a", "A a/second", "A m =a/second", "A single", "A z =a/second"},
	}, {
		name:  "excluded paths and their whiteouts are left out",
		lower: [][]string{{"etc/hosts=h", "etc/passwd=p", "proc/"}},
		upper: []string{"etc/hostname=n", "wh:etc/hosts", "wh:etc/passwd", "wh:proc", "sys/x="},
		exclude: func(rel string) bool {
			return rel == "proc" || rel == "sys" || rel == "etc/hosts" || rel == "etc/hostname"
		},
		want: []string{"M etc", "D etc/passwd wh lower"},
	}, {
		name:  "symlinks are entries, never followed",
		lower: [][]string{{"t/x=1"}},
		upper: []string{"sym:s=t", "sym:t=/etc"},
		want:  []string{"A s", "M t"},
	}}
	for _, f := range walkFormats(t) {
		for _, tc := range tests {
			t.Run(string(f)+"/"+tc.name, func(t *testing.T) {
				c := conv(t, f)
				opts := layer.WalkOptions{Converter: c, Exclude: tc.exclude}
				for _, l := range tc.lower {
					opts.Lower = append(opts.Lower, buildDiff(t, c, l...))
				}
				got := walkAll(t, buildDiff(t, c, tc.upper...), opts)
				if !slices.Equal(got, tc.want) {
					t.Errorf("changes:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
				}
			})
		}
	}
}

// TestWalkChangesFilesForm checks what only the ".wh." file form can hold:
// a name and its whiteout in one layer, and aufs's bookkeeping.
func TestWalkChangesFilesForm(t *testing.T) {
	c := conv(t, whiteout.FormatFiles)
	lower := buildDiff(t, c, "x/old=1", "y=2", ".wh..wh.plnk/1.2=pseudo")
	upper := buildDiff(t, c, "x/new=3", "wh:x", ".wh..wh.plnk/3.4=pseudo", ".wh..wh.aufs=", ".wh..wh.orph/", "y=4", "wh:y")
	got := walkAll(t, upper, layer.WalkOptions{Converter: c, Lower: []string{lower}})
	want := []string{"M x opq", "A x/new", "D x/old lower", "M y"}
	if !slices.Equal(got, want) {
		t.Errorf("changes:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestWalkChangesStat(t *testing.T) {
	c := conv(t, whiteout.FormatFiles)
	lower := buildDiff(t, c, "f=four")
	upper := buildDiff(t, c, "f=sixsix")
	var got []layer.Change
	layer.WalkChanges(context.Background(), upper, layer.WalkOptions{Converter: c, Lower: []string{lower}}, func(ch layer.Change) error {
		got = append(got, ch)
		return nil
	})
	if len(got) != 1 {
		t.Fatalf("changes %v", got)
	}
	ch := got[0]
	if ch.Stat.Size != 6 || ch.Lower.Size != 4 || ch.Source != filepath.Join(upper, "f") || ch.LowerSource != filepath.Join(lower, "f") {
		t.Errorf("size %d lower size %d source %s lower source %s", ch.Stat.Size, ch.Lower.Size, ch.Source, ch.LowerSource)
	}
}

func TestWalkChangesErrors(t *testing.T) {
	c := conv(t, whiteout.FormatFiles)
	upper := buildDiff(t, c, "a=1", "b=2")
	if err := layer.WalkChanges(context.Background(), upper, layer.WalkOptions{}, func(layer.Change) error { return nil }); err == nil {
		t.Error("no converter: no error")
	}
	stop := errors.New("stop")
	n := 0
	err := layer.WalkChanges(context.Background(), upper, layer.WalkOptions{Converter: c}, func(layer.Change) error {
		n++
		return stop
	})
	if err != stop || n != 1 {
		t.Errorf("fn's error: got %v after %d calls, want it unwrapped after 1", err, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := layer.WalkChanges(ctx, upper, layer.WalkOptions{Converter: c}, func(layer.Change) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	err = layer.WalkChanges(context.Background(), filepath.Join(upper, "missing"), layer.WalkOptions{Converter: c}, func(layer.Change) error { return nil })
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing upper: %v", err)
	}
}

// TestLayerChanges walks each layer of a stored chain against its parents.
func TestLayerChanges(t *testing.T) {
	s, err := layer.Open(t.TempDir(), layer.OpenOptions{Default: func() (layer.Settings, error) {
		return layer.Settings{Driver: "vfs", Whiteout: whiteout.FormatFiles}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	base, _, err := s.Put(ctx, "", bytesSource(layertest.Tar(t, layertest.Dir("etc/"), layertest.File("etc/a", "1"), layertest.File("etc/b", "2"))))
	if err != nil {
		t.Fatal(err)
	}
	top, _, err := s.Put(ctx, base.ChainID, bytesSource(layertest.Tar(t, layertest.Dir("etc/"), layertest.File("etc/a", "one"),
		layertest.File("etc/.wh.b", ""), layertest.File("new", "n"))))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id   digest.Digest
		want []string
	}{
		{base.ChainID, []string{"A etc", "A etc/a", "A etc/b"}},
		{top.ChainID, []string{"M etc", "M etc/a", "D etc/b wh lower", "A new"}},
	} {
		var got []string
		err := s.LayerChanges(ctx, tc.id, func(c layer.Change) error {
			got = append(got, describe(c))
			return nil
		})
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v\n  %s\nwant\n  %s", tc.id, err, strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
		}
	}
	unknown := digest.Digest("sha256:" + strings.Repeat("0", 64))
	if err := s.LayerChanges(ctx, unknown, nil); !errors.Is(err, layer.ErrNotFound) {
		t.Errorf("unknown layer: %v", err)
	}
}

// TestWalkChangesComplete compares a whole tree (a vfs container's copy)
// with the layers it was copied from.
func TestWalkChangesComplete(t *testing.T) {
	c := conv(t, whiteout.FormatFiles)
	near := buildDiff(t, c, "wh:old", "sub/")
	far := buildDiff(t, c, "a=1", "d/x=1", "d/y=2", "e/z=3", "gone=4", "old=5", "sub/s=6")
	upper := t.TempDir()
	for _, l := range []string{far, near} {
		if out, err := exec.Command("cp", "-a", l+"/.", upper).CombinedOutput(); err != nil {
			t.Fatalf("cp: %v %s", err, out)
		}
	}
	// The copy of the merged view: no whiteout, and old is gone.
	must(t, os.Remove(filepath.Join(upper, ".wh.old")))
	must(t, os.Remove(filepath.Join(upper, "old")))
	must(t, os.WriteFile(filepath.Join(upper, "a"), []byte("11"), 0o644))
	must(t, os.Remove(filepath.Join(upper, "d/y")))
	must(t, os.Remove(filepath.Join(upper, "gone")))
	must(t, os.WriteFile(filepath.Join(upper, ".wh.plain"), nil, 0o644))
	must(t, os.Chmod(filepath.Join(upper, "sub/s"), 0o600))
	opts := layer.WalkOptions{Converter: c, Lower: []string{near, far}, Complete: true}
	for _, tc := range []struct {
		unchanged bool
		want      []string
	}{
		{false, []string{"A .wh.plain", "M a", "M d", "D d/y lower", "D gone lower", "M sub", "M sub/s"}},
		{true, []string{"A .wh.plain", "M a", "M d", "U d/x", "D d/y lower", "U e", "U e/z", "D gone lower", "M sub", "M sub/s"}},
	} {
		opts.Unchanged = tc.unchanged
		if got := walkAll(t, upper, opts); !slices.Equal(got, tc.want) {
			t.Errorf("unchanged %v:\n  %s\nwant:\n  %s", tc.unchanged, strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
		}
	}
}
