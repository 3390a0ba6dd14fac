package image_test

// Tests of the --change instructions (ApplyChange, CheckChanges) and of
// Commit, which applies them to the parent's config.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	digest "github.com/opencontainers/go-digest"

	"github.com/layerctl/layerctl/pkg/image"
	"github.com/layerctl/layerctl/pkg/image/registrytest"
	"github.com/layerctl/layerctl/pkg/layer"
	"github.com/layerctl/layerctl/pkg/ns"
)

func TestApplyChange(t *testing.T) {
	set := func(keys ...string) map[string]struct{} {
		m := map[string]struct{}{}
		for _, k := range keys {
			m[k] = struct{}{}
		}
		return m
	}
	tests := []struct {
		name  string
		start v1.Config // what the parent image had
		lines []string
		want  v1.Config
	}{
		{name: "CMD exec form", lines: []string{`CMD ["/bin/echo", "a b", "c"]`},
			want: v1.Config{Cmd: []string{"/bin/echo", "a b", "c"}}},
		{name: "CMD shell form runs under sh -c", lines: []string{`CMD echo "$HOME" && ls`},
			want: v1.Config{Cmd: []string{"/bin/sh", "-c", `echo "$HOME" && ls`}}},
		{name: "CMD replaces the parent's", start: v1.Config{Cmd: []string{"/bin/sh"}}, lines: []string{`CMD ["top"]`},
			want: v1.Config{Cmd: []string{"top"}}},
		{name: "ENTRYPOINT exec form", lines: []string{`ENTRYPOINT ["/app", "--serve"]`},
			want: v1.Config{Entrypoint: []string{"/app", "--serve"}}},
		{name: "ENTRYPOINT shell form", lines: []string{`ENTRYPOINT exec /app`},
			want: v1.Config{Entrypoint: []string{"/bin/sh", "-c", "exec /app"}}},
		{name: "lower-case instruction and a tab", lines: []string{"cmd\t[\"x\"]"},
			want: v1.Config{Cmd: []string{"x"}}},
		{name: "ENV pairs with quotes and escapes", lines: []string{`ENV K=V K2="a b" K3=a\ c K4='$x'`},
			want: v1.Config{Env: []string{"K=V", "K2=a b", "K3=a c", "K4=$x"}}},
		{name: "ENV replaces a variable in place", start: v1.Config{Env: []string{"PATH=/bin", "HOME=/"}},
			lines: []string{"ENV PATH=/usr/bin:/bin", "ENV NEW=1"},
			want:  v1.Config{Env: []string{"PATH=/usr/bin:/bin", "HOME=/", "NEW=1"}}},
		{name: "ENV expands variables from before the line, not in single quotes",
			start: v1.Config{Env: []string{"PATH=/bin"}},
			lines: []string{`ENV PATH=$PATH:/opt/bin X=${PATH} Y='$PATH' Z=\$PATH U=$UNSET.`, "ENV OLD form-$X"},
			want:  v1.Config{Env: []string{"PATH=/bin:/opt/bin", "X=/bin", "Y=$PATH", "Z=$PATH", "U=.", "OLD=form-/bin"}}},
		{name: "ENV old form takes the rest of the line", lines: []string{"ENV GREETING hello   big world"},
			want: v1.Config{Env: []string{"GREETING=hello   big world"}}},
		{name: "ENV old form with a tab and a quoted value", lines: []string{"ENV K\t\"a b\""},
			want: v1.Config{Env: []string{"K=a b"}}},
		{name: "LABEL pairs", start: v1.Config{Labels: map[string]string{"keep": "1", "over": "old"}},
			lines: []string{`LABEL over=new "with space"="a b" empty=`},
			want:  v1.Config{Labels: map[string]string{"keep": "1", "over": "new", "with space": "a b", "empty": ""}}},
		{name: "WORKDIR absolute and cleaned", start: v1.Config{WorkingDir: "/old"}, lines: []string{"WORKDIR /srv/../app/"},
			want: v1.Config{WorkingDir: "/app"}},
		{name: "WORKDIR relative to the current one", start: v1.Config{WorkingDir: "/app"}, lines: []string{"WORKDIR sub", `WORKDIR "more dirs"`},
			want: v1.Config{WorkingDir: "/app/sub/more dirs"}},
		{name: "WORKDIR relative without one", lines: []string{"WORKDIR rel"},
			want: v1.Config{WorkingDir: "/rel"}},
		{name: "USER", start: v1.Config{User: "root"}, lines: []string{"USER app:staff"},
			want: v1.Config{User: "app:staff"}},
		{name: "EXPOSE with and without protocol", start: v1.Config{ExposedPorts: set("22/tcp")}, lines: []string{"EXPOSE 80 443/udp 9/sctp"},
			want: v1.Config{ExposedPorts: set("22/tcp", "80/tcp", "443/udp", "9/sctp")}},
		{name: "VOLUME JSON array", lines: []string{`VOLUME ["/a"]`},
			want: v1.Config{Volumes: set("/a")}},
		{name: "VOLUME words", start: v1.Config{Volumes: set("/old")}, lines: []string{"VOLUME /a /b"},
			want: v1.Config{Volumes: set("/old", "/a", "/b")}},
		{name: "STOPSIGNAL", lines: []string{"STOPSIGNAL SIGQUIT"},
			want: v1.Config{StopSignal: "SIGQUIT"}},
		{name: "surrounding blanks", lines: []string{"  USER   nobody  "},
			want: v1.Config{User: "nobody"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.start
			for _, l := range tc.lines {
				if err := image.ApplyChange(&cfg, l, ns.ParseSignal); err != nil {
					t.Fatalf("ApplyChange(%q): %v", l, err)
				}
			}
			if !reflect.DeepEqual(cfg, tc.want) {
				got, _ := json.Marshal(cfg)
				want, _ := json.Marshal(tc.want)
				t.Errorf("config after %q:\n got %s\nwant %s", tc.lines, got, want)
			}
		})
	}
}

func TestApplyChangeErrors(t *testing.T) {
	for _, tc := range []struct {
		name, line, why string
	}{
		{"unknown instruction", `RUN apt-get update`, "unknown instruction"},
		{"FROM is no change", `FROM busybox`, "unknown instruction"},
		{"empty line", ``, "needs arguments"},
		{"missing args", `CMD`, "needs arguments"},
		{"only blanks after the instruction", "ENV \t ", "needs arguments"},
		{"bad JSON array", `CMD ["sh", "-c"`, "bad JSON array"},
		{"JSON array of numbers", `ENTRYPOINT [1, 2]`, "bad JSON array"},
		{"bad VOLUME array", `VOLUME ["/a",]`, "bad JSON array"},
		{"bad port", `EXPOSE 80 http`, "bad port"},
		{"port 0", `EXPOSE 0`, "bad port"},
		{"port too big", `EXPOSE 65536/tcp`, "bad port"},
		{"port with sign", `EXPOSE +80`, "bad port"},
		{"bad protocol", `EXPOSE 80/icmp`, "bad protocol"},
		{"ENV without a value", `ENV LONELY`, "KEY=VALUE"},
		{"STOPSIGNAL unknown", `STOPSIGNAL NOPE`, "bad signal"},
		{"STOPSIGNAL out of range", `STOPSIGNAL 99`, "bad signal"},
		{"ENV without a name", `ENV =value`, "KEY=VALUE"},
		{"ENV pair then a bad one", `ENV A=1 B`, "KEY=VALUE"},
		{"LABEL without =", `LABEL key value`, "KEY=VALUE"},
		{"unterminated quote", `ENV A="open`, "unterminated"},
		{"trailing backslash", `USER x LABEL a=b\`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cfg v1.Config
			err := image.ApplyChange(&cfg, tc.line, ns.ParseSignal)
			if tc.why == "" {
				return // only: no panic
			}
			if err == nil {
				t.Fatalf("ApplyChange(%q): no error, config %+v", tc.line, cfg)
			}
			// The message names the flag and the line, so a user finds it.
			if msg := err.Error(); !strings.HasPrefix(msg, "--change ") || !strings.Contains(msg, tc.why) || strings.Contains(msg, "\n") {
				t.Errorf("ApplyChange(%q) = %q: want one line starting with --change and saying %q", tc.line, msg, tc.why)
			}
		})
	}
}

func TestCheckChanges(t *testing.T) {
	if err := image.CheckChanges([]string{`CMD ["a"]`, "ENV A=1", "EXPOSE 80"}, ns.ParseSignal); err != nil {
		t.Errorf("good changes: %v", err)
	}
	if err := image.CheckChanges(nil, ns.ParseSignal); err != nil {
		t.Errorf("no changes: %v", err)
	}
	err := image.CheckChanges([]string{"ENV A=1", "EXPOSE nope", "BOGUS x"}, ns.ParseSignal)
	if err == nil || !strings.Contains(err.Error(), "EXPOSE nope") {
		t.Errorf("bad second line: err = %v, want it named", err)
	}
}

// portKey is an ExposedPorts key as Docker writes it.
var portKey = regexp.MustCompile(`^[1-9][0-9]{0,4}/(tcp|udp|sctp)$`)

// FuzzApplyChange: no line may panic, an error always names --change, and a
// config that took a change stays one a runtime can use: every env entry is
// KEY=VALUE with a key once, ports are PORT/PROTO, the working dir is
// absolute and clean.
func FuzzApplyChange(f *testing.F) {
	for _, s := range []string{
		`CMD ["/bin/sh"]`, `CMD echo hi`, `ENTRYPOINT ["a","b"]`, `ENV A=1 B="x y"`, `ENV A b c`,
		`LABEL a=b`, `WORKDIR rel/../x`, `WORKDIR /abs`, `USER 1000:1000`, `EXPOSE 80 443/udp`,
		`VOLUME ["/a"]`, `VOLUME /a /b`, `STOPSIGNAL 9`, `ENV "" x`, `ENV K\ Y=1`, "ENV\tA\tB", `LABEL "=x`,
		`CMD [`, `EXPOSE 080`, `ENV A='unterminated`, `WORKDIR ""`, `CMD null`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		cfg := v1.Config{Env: []string{"PATH=/bin"}, WorkingDir: "/w"}
		err := image.ApplyChange(&cfg, line, ns.ParseSignal)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "--change ") {
				t.Fatalf("error %q does not name --change", err)
			}
			return
		}
		if _, err := json.Marshal(cfg); err != nil {
			t.Fatalf("config does not marshal: %v", err)
		}
		seen := map[string]bool{}
		for _, e := range cfg.Env {
			k, _, ok := strings.Cut(e, "=")
			if !ok || k == "" || seen[k] {
				t.Fatalf("env %q after %q: want unique KEY=VALUE entries", cfg.Env, line)
			}
			seen[k] = true
		}
		for p := range cfg.ExposedPorts {
			if !portKey.MatchString(p) {
				t.Fatalf("exposed port %q after %q", p, line)
			}
		}
		if !path.IsAbs(cfg.WorkingDir) || path.Clean(cfg.WorkingDir) != cfg.WorkingDir {
			t.Fatalf("working dir %q after %q", cfg.WorkingDir, line)
		}
	})
}

// --- Commit ---

// skipUnlessRoot skips tests that store layers: the applier gives every
// entry its owner from the tar.
func skipUnlessRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: storing a layer chowns its files")
	}
}

// tarSource feeds a tar to Store.Put.
func tarSource(b []byte) layer.Source {
	return func(context.Context) (io.ReadCloser, []layer.Blob, error) {
		return io.NopCloser(bytes.NewReader(b)), nil, nil
	}
}

// putLayer stores a layer tar over parent (a chainID or "").
func putLayer(t testing.TB, s *layer.Store, parent digest.Digest, tarBytes []byte) layer.Meta {
	t.Helper()
	m, _, err := s.Put(t.Context(), parent, tarSource(tarBytes))
	if err != nil {
		t.Fatalf("put layer: %v", err)
	}
	return m
}

// pullBase stores a two-layer image with a config a commit inherits.
func pullBase(t testing.TB, s *layer.Store, im *image.Images, name string) image.Record {
	t.Helper()
	img := registrytest.OCIImage(t, func(cf *v1.ConfigFile) {
		cf.Author = "base author"
		cf.Config.Env = []string{"PATH=/bin"}
		cf.Config.Cmd = []string{"/bin/sh"}
		cf.Config.Labels = map[string]string{"from": "base"}
		cf.History = []v1.History{{Created: v1.Time{Time: epoch}, CreatedBy: "base 1"}, {Created: v1.Time{Time: epoch}, CreatedBy: "base 2"}}
	}, gzipLayer(t, tarOf(t, dir("bin/"), file("bin/tool", "tool v1"), dir("etc/"), file("etc/conf", "conf"))),
		gzipLayer(t, tarOf(t, dir("etc/"), file("etc/motd", "hello"))))
	return mustPull(t, s, im, registrytest.WriteLayout(t, filepath.Join(t.TempDir(), "base"), img, "v1"), image.PullOptions{Name: name})
}

// storedConfig reads an image's config from the store.
func storedConfig(t testing.TB, s *layer.Store, id digest.Digest) *v1.ConfigFile {
	t.Helper()
	raw, err := s.Blob(id)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return cf
}

func TestCommit(t *testing.T) {
	skipUnlessRoot(t)
	s, im := newStore(t)
	parent := pullBase(t, s, im, "base:1")
	m := putLayer(t, s, parent.Top(), tarOf(t, dir("etc/"), file("etc/conf", "changed"), file("new", "n")))
	created := time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC)
	opts := image.CommitOptions{
		Name: image.NormalizeName("child:1"), Author: "me <me@example.com>", Comment: "add new",
		CreatedBy: "layerctl commit --change ...", Created: created,
		Changes: []string{`CMD ["/new"]`, "ENV A=1", "LABEL from=child", "EXPOSE 8080"},
	}
	rec, err := image.Commit(s, im, &parent, m, opts)
	if err != nil {
		t.Fatalf("commit: %v", err)
	}
	wantDiffIDs := append(slices.Clone(parent.DiffIDs), m.DiffID)
	if !slices.Equal(rec.DiffIDs, wantDiffIDs) || !slices.Equal(rec.ChainIDs, layer.ChainIDs(wantDiffIDs)) || rec.Top() != m.ChainID {
		t.Errorf("record diffIDs %v chainIDs %v, want %v over the parent's", rec.DiffIDs, rec.ChainIDs, wantDiffIDs)
	}
	if rec.Size != parent.Size+m.Size || rec.Source != "commit" {
		t.Errorf("record size %d source %q, want %d and commit", rec.Size, rec.Source, parent.Size+m.Size)
	}
	raw, err := s.Blob(rec.ID)
	if err != nil {
		t.Fatalf("config blob: %v", err)
	}
	if digest.FromBytes(raw) != rec.ID {
		t.Errorf("image ID %s is not the config's digest", rec.ID)
	}
	cf := storedConfig(t, s, rec.ID)
	var gotDiffIDs []digest.Digest
	for _, h := range cf.RootFS.DiffIDs {
		gotDiffIDs = append(gotDiffIDs, digest.Digest(h.String()))
	}
	if !slices.Equal(gotDiffIDs, wantDiffIDs) || cf.RootFS.Type != "layers" {
		t.Errorf("config rootfs %+v, want diffIDs %v", cf.RootFS, wantDiffIDs)
	}
	if !cf.Created.Time.Equal(created) || cf.Author != opts.Author || cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
		t.Errorf("config created %v author %q os/arch %s/%s", cf.Created, cf.Author, cf.OS, cf.Architecture)
	}
	wantCfg := v1.Config{
		Env: []string{"PATH=/bin", "A=1"}, Cmd: []string{"/new"},
		Labels: map[string]string{"from": "child"}, ExposedPorts: map[string]struct{}{"8080/tcp": {}},
	}
	if !reflect.DeepEqual(cf.Config, wantCfg) {
		t.Errorf("config %+v, want the parent's with the changes: %+v", cf.Config, wantCfg)
	}
	wantHist := v1.History{Created: v1.Time{Time: created}, CreatedBy: opts.CreatedBy, Comment: opts.Comment, Author: opts.Author}
	if len(cf.History) != 3 || cf.History[0].CreatedBy != "base 1" || !reflect.DeepEqual(cf.History[2], wantHist) {
		t.Errorf("history %+v, want the parent's two entries and %+v", cf.History, wantHist)
	}
	if got, err := im.Resolve("child:1"); err != nil || got.ID != rec.ID {
		t.Errorf("child:1 resolves to %v (%v), want %s", got.ID, err, rec.ID)
	}
	if stored, err := im.Get(rec.ID); err != nil || !slices.Equal(stored.ChainIDs, rec.ChainIDs) {
		t.Errorf("stored record %+v (%v)", stored, err)
	}
	// The parent's config is left as it was.
	if pc := storedConfig(t, s, parent.ID); len(pc.History) != 2 || pc.Config.Labels["from"] != "base" {
		t.Errorf("the parent's config changed: %+v", pc)
	}

	// The same commit again makes the same image; another time another one.
	again, err := image.Commit(s, im, &parent, m, opts)
	if err != nil || again.ID != rec.ID {
		t.Errorf("the same commit again: ID %s (%v), want %s", again.ID, err, rec.ID)
	}
	opts.Created = created.Add(time.Second)
	if later, err := image.Commit(s, im, &parent, m, opts); err != nil || later.ID == rec.ID {
		t.Errorf("a commit at another time: ID %s (%v), want one other than %s", later.ID, err, rec.ID)
	}
}

func TestCommitFromScratch(t *testing.T) {
	skipUnlessRoot(t)
	s, im := newStore(t)
	m := putLayer(t, s, "", tarOf(t, file("only", "x")))
	rec, err := image.Commit(s, im, nil, m, image.CommitOptions{Created: epoch, Changes: []string{"CMD only"}})
	if err != nil {
		t.Fatalf("commit: %v", err)
	}
	if !slices.Equal(rec.DiffIDs, []digest.Digest{m.DiffID}) || !slices.Equal(rec.ChainIDs, []digest.Digest{m.ChainID}) {
		t.Errorf("record %+v, want the one layer %s", rec, m.ChainID)
	}
	cf := storedConfig(t, s, rec.ID)
	if cf.OS != runtime.GOOS || cf.Architecture != runtime.GOARCH || len(cf.History) != 1 || len(cf.RootFS.DiffIDs) != 1 {
		t.Errorf("config %+v", cf)
	}
	if names, _ := im.Names(rec.ID); len(names) != 0 {
		t.Errorf("an unnamed commit got names %v", names)
	}
}

func TestCommitFailures(t *testing.T) {
	skipUnlessRoot(t)
	s, im := newStore(t)
	parent := pullBase(t, s, im, "base:1")
	over := putLayer(t, s, parent.Top(), tarOf(t, file("x", "x")))
	beside := putLayer(t, s, "", tarOf(t, file("y", "y"))) // not over the parent
	for _, tc := range []struct {
		name    string
		m       layer.Meta
		changes []string
		why     string
	}{
		{"layer not over the image", beside, nil, "not over"},
		{"bad change", over, []string{"ENV A=1", "EXPOSE 99999"}, "bad port"},
		{"unknown instruction", over, []string{"RUN x"}, "unknown instruction"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := imageFiles(t, s)
			_, err := image.Commit(s, im, &parent, tc.m, image.CommitOptions{Name: image.NormalizeName("bad:1"), Created: epoch, Changes: tc.changes})
			if err == nil || !strings.Contains(err.Error(), tc.why) {
				t.Fatalf("commit: err = %v, want %q", err, tc.why)
			}
			if after := imageFiles(t, s); !slices.Equal(after, before) {
				t.Errorf("a failed commit changed images/: %v, was %v", after, before)
			}
			if _, err := im.Resolve("bad:1"); !errors.Is(err, image.ErrNotFound) {
				t.Errorf("bad:1 resolves after a failed commit (%v)", err)
			}
		})
	}
}

// imageFiles lists images/ with refs.json's content, what a failed commit or
// push must leave alone.
func imageFiles(t testing.TB, s *layer.Store) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(s.Root(), "images"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	refs, _ := os.ReadFile(filepath.Join(s.Root(), "images", "refs.json"))
	return append(out, string(refs))
}

// Without a parser a STOPSIGNAL cannot be checked: it is refused, never
// recorded unchecked.
func TestApplyChangeStopSignalNeedsParser(t *testing.T) {
	var cfg v1.Config
	err := image.ApplyChange(&cfg, "STOPSIGNAL SIGTERM", nil)
	if err == nil || !strings.Contains(err.Error(), "no signal parser") || cfg.StopSignal != "" {
		t.Errorf("ApplyChange without a parser = %v, StopSignal %q; want a refusal", err, cfg.StopSignal)
	}
	if err := image.ApplyChange(&cfg, "STOPSIGNAL SIGTERM", ns.ParseSignal); err != nil || cfg.StopSignal != "SIGTERM" {
		t.Errorf("ApplyChange with ns.ParseSignal = %v, StopSignal %q", err, cfg.StopSignal)
	}
}
