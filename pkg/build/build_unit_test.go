package build

import (
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

func mustParse(t *testing.T, dockerfile string) ([]instructions.Stage, []instructions.ArgCommand) {
	t.Helper()
	stages, meta, err := parse("Dockerfile", []byte(dockerfile))
	if err != nil {
		t.Fatal(err)
	}
	return stages, meta
}

func TestParseErrorNamesLine(t *testing.T) {
	for _, tc := range []struct{ name, file, want string }{
		{"unknown instruction", "FROM scratch\nENV A=1\nFROOB x\n", "Dockerfile:3:"},
		{"no FROM", "ENV A=1\n", "Dockerfile:1:"},
		{"bad flag", "FROM scratch\nCOPY --nope=1 a b\n", "Dockerfile:2:"},
		{"empty", "# nothing\n", "Dockerfile:1:"},
		{"no text at all", "", "Dockerfile: file with no instructions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := parse("Dockerfile", []byte(tc.file))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error %v, want it to begin %q", err, tc.want)
			}
		})
	}
}

func TestNeededStages(t *testing.T) {
	stages, _ := mustParse(t, `ARG BASE=base
FROM busybox AS base
FROM busybox AS unused
RUN false
FROM busybox AS tools
FROM $BASE AS app
COPY --from=tools /x /x
FROM busybox AS other
COPY --from=0 /y /y
`)
	for _, tc := range []struct {
		target string
		want   []int
	}{
		{"", []int{0, 4}},
		{"app", []int{0, 2, 3}},
		{"APP", []int{0, 2, 3}}, // stage names are case-insensitive
		{"unused", []int{1}},
	} {
		i, err := findTarget(stages, tc.target)
		if err != nil {
			t.Fatal(err)
		}
		got, err := neededStages(stages, i, map[string]string{"BASE": "base"})
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("target %q: stages %v, %v; want %v", tc.target, got, err, tc.want)
		}
	}
	if _, err := findTarget(stages, "nope"); err == nil {
		t.Error("an unknown target was found")
	}
}

// TestMetadata applies each metadata instruction to an empty config and
// checks the config and the history line BuildKit would write.
func TestMetadata(t *testing.T) {
	for _, tc := range []struct {
		line, history string
		check         func(v1.Config) bool
	}{
		{`ENV A=1 B="two words"`, "ENV A=1 B=two words", func(c v1.Config) bool { return slices.Equal(c.Env, []string{"A=1", "B=two words"}) }},
		{"WORKDIR sub", "WORKDIR /base/sub", func(c v1.Config) bool { return c.WorkingDir == "/base/sub" }},
		{"USER 1000:1000", "USER 1000:1000", func(c v1.Config) bool { return c.User == "1000:1000" }},
		{"CMD echo hi", `CMD ["/bin/sh" "-c" "echo hi"]`, func(c v1.Config) bool { return slices.Equal(c.Cmd, []string{"/bin/sh", "-c", "echo hi"}) }},
		{`ENTRYPOINT ["/e"]`, `ENTRYPOINT ["/e"]`, func(c v1.Config) bool { return slices.Equal(c.Entrypoint, []string{"/e"}) && c.Cmd == nil }},
		{"LABEL k=v", "LABEL k=v", func(c v1.Config) bool { return c.Labels["k"] == "v" }},
		{"EXPOSE 80 53/udp", "EXPOSE map[53/udp:{} 80/tcp:{}]", func(c v1.Config) bool { return len(c.ExposedPorts) == 2 }},
		{"VOLUME /data", "VOLUME [/data]", func(c v1.Config) bool { _, ok := c.Volumes["/data"]; return ok }},
		{"STOPSIGNAL SIGINT", "STOPSIGNAL SIGINT", func(c v1.Config) bool { return c.StopSignal == "SIGINT" }},
		{`HEALTHCHECK --retries=2 CMD ["true"]`, `HEALTHCHECK ["CMD" "true"]`, func(c v1.Config) bool { return c.Healthcheck != nil && c.Healthcheck.Retries == 2 }},
		{"ONBUILD RUN x", "ONBUILD RUN x", func(c v1.Config) bool { return slices.Equal(c.OnBuild, []string{"RUN x"}) }},
		{`SHELL ["/bin/bash", "-c"]`, `SHELL ["/bin/bash" "-c"]`, func(c v1.Config) bool { return slices.Equal(c.Shell, []string{"/bin/bash", "-c"}) }},
	} {
		stages, _ := mustParse(t, "FROM scratch\n"+tc.line+"\n")
		b := &builder{}
		st := &stage{cfg: &v1.ConfigFile{Config: v1.Config{WorkingDir: "/base", Cmd: []string{"old"}}}, shell: []string{"/bin/sh", "-c"}, args: map[string]string{}}
		c := stages[0].Commands[0]
		if ex, ok := c.(instructions.SupportsSingleWordExpansion); ok {
			ex.Expand(func(w string) (string, error) { return expandWord(w, newEnv(nil, nil)) })
		}
		got, err := b.metadata(st, c)
		if err != nil || got != tc.history || !tc.check(st.cfg.Config) {
			t.Errorf("%s: history %q, %v, config %+v; want history %q", tc.line, got, err, st.cfg.Config, tc.history)
		}
	}
}

func TestCommandLine(t *testing.T) {
	b := &builder{}
	st := &stage{shell: []string{"/bin/sh", "-c"}}
	for _, tc := range []struct {
		dockerfile string
		want       []string
	}{
		{"RUN echo hi", []string{"/bin/sh", "-c", "echo hi"}},
		{`RUN ["echo", "hi"]`, []string{"echo", "hi"}},
		{"RUN <<EOF\necho a\nEOF\n", []string{"/bin/sh", "-c", "echo a\n"}},
		{"RUN cat <<EOF\na\nEOF\n", []string{"/bin/sh", "-c", "cat <<EOF\na\nEOF"}},
	} {
		stages, _ := mustParse(t, "FROM scratch\n"+tc.dockerfile)
		run := stages[0].Commands[0].(*instructions.RunCommand)
		if got := b.commandLine(st, run.ShellDependantCmdLine); !slices.Equal(got, tc.want) {
			t.Errorf("%q: %q, want %q", tc.dockerfile, got, tc.want)
		}
	}
}

func TestCopyRequestRefuses(t *testing.T) {
	for _, tc := range []struct {
		r    copyRequest
		want string
	}{
		{copyRequest{name: "COPY", link: true}, "--link"},
		{copyRequest{name: "COPY", parents: true}, "--parents"},
		{copyRequest{name: "ADD", add: true, SourcesAndDest: instructions.SourcesAndDest{SourcePaths: []string{"https://x/y.tar"}}}, "URL"},
	} {
		if err := tc.r.check(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error naming %s", tc.r, err, tc.want)
		}
	}
}
