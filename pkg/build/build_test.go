package build_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/layerctl/layerctl/pkg/build"
	"github.com/layerctl/layerctl/pkg/image/registrytest"
)

// TestBuildEveryInstruction builds one Dockerfile using every instruction
// and checks the image's config, history and files.
func TestBuildEveryInstruction(t *testing.T) {
	s := newStore(t)
	dir := writeContext(t, map[string]string{
		"Dockerfile": `ARG BASE=busybox
FROM $BASE AS base
ARG GREETING=hi
ENV APP=/app
WORKDIR $APP
RUN echo "$GREETING" > greeting
COPY hello.txt sub ./
COPY --chown=nobody:nogroup --chmod=600 hello.txt /owned/deep/
ADD files.tar.gz /unpacked/
RUN <<EOF
echo heredoc > /heredoc
EOF
RUN true
SHELL ["/bin/sh", "-e", "-c"]
USER nobody
LABEL a=b
EXPOSE 80 53/udp
VOLUME /data
STOPSIGNAL SIGTERM
HEALTHCHECK CMD ["true"]
ONBUILD RUN touch /tmp/onbuild
MAINTAINER me
ENTRYPOINT ["cat"]
CMD ["greeting"]
`,
		"hello.txt": "hello\n",
		"sub/a":     "a\n",
		"sub/link":  "->a",
	})
	writeTarGz(t, dir+"/files.tar.gz", map[string]string{"x/y": "in the tar\n"})
	id, progress, err := buildIn(t.Context(), s, dir, build.Options{Tags: []string{"built:latest"}, BuildArgs: map[string]string{"GREETING": "yo"}})
	if err != nil {
		t.Fatalf("build: %v\n%s", err, progress)
	}
	cfg := configOf(t, s, "built")
	if got := configOf(t, s, id.String()); got.Created != cfg.Created {
		t.Errorf("the tag names another image than the ID printed")
	}
	c := cfg.Config
	switch {
	case !slices.Contains(c.Env, "APP=/app") || slices.ContainsFunc(c.Env, func(e string) bool { return strings.HasPrefix(e, "GREETING=") }):
		t.Errorf("Env %q: want APP, and no ARG", c.Env)
	case c.WorkingDir != "/app" || c.User != "nobody" || c.Labels["a"] != "b" || c.StopSignal != "SIGTERM" || cfg.Author != "me":
		t.Errorf("config %+v", c)
	case len(c.ExposedPorts) != 2 || len(c.Volumes) != 1 || c.Healthcheck == nil:
		t.Errorf("ports %v volumes %v healthcheck %v", c.ExposedPorts, c.Volumes, c.Healthcheck)
	case !slices.Equal(c.Entrypoint, []string{"cat"}) || !slices.Equal(c.Cmd, []string{"greeting"}):
		t.Errorf("Entrypoint %q Cmd %q", c.Entrypoint, c.Cmd)
	case !slices.Equal(c.OnBuild, []string{"RUN touch /tmp/onbuild"}) || !slices.Equal(c.Shell, []string{"/bin/sh", "-e", "-c"}):
		t.Errorf("OnBuild %q Shell %q", c.OnBuild, c.Shell)
	}
	// busybox's layer, then WORKDIR (it makes /app), RUN, COPY, COPY, ADD,
	// RUN <<EOF; RUN true changes nothing.
	if n := len(cfg.RootFS.DiffIDs); n != 7 {
		t.Errorf("%d layers, want 7", n)
	}
	var layers int
	for _, h := range cfg.History {
		if !h.EmptyLayer {
			layers++
		}
	}
	if layers != len(cfg.RootFS.DiffIDs) || len(cfg.History) != 21 {
		t.Errorf("history %+v: want 21 entries, one with a layer per layer", cfg.History)
	}
	out := runIn(t, s, "built", "sh", "-c",
		"cat /app/greeting /app/hello.txt /app/a /heredoc /unpacked/x/y; readlink /app/link; stat -c '%u:%g %a' /owned /owned/deep /owned/deep/hello.txt")
	want := "yo\nhello\na\nheredoc\nin the tar\na\n65534:65534 755\n65534:65534 755\n65534:65534 600\n"
	if out != want {
		t.Errorf("image files:\n%s\nwant:\n%s", out, want)
	}
	if !strings.Contains(progress, "[base 5/21] RUN echo") || !strings.Contains(progress, "DONE") {
		t.Errorf("progress lacks BuildKit's step lines:\n%s", progress)
	}

	// ONBUILD runs in a build on the image, and is not inherited.
	child := writeContext(t, map[string]string{"Dockerfile": "FROM built\nUSER 0\n"})
	if _, progress, err := buildIn(t.Context(), s, child, build.Options{Tags: []string{"child"}}); err != nil {
		t.Fatalf("child build: %v\n%s", err, progress)
	}
	if out := runIn(t, s, "child", "ls", "/tmp/onbuild"); out != "/tmp/onbuild\n" {
		t.Errorf("ONBUILD did not run: %q", out)
	}
	if cfg := configOf(t, s, "child"); len(cfg.Config.OnBuild) != 0 {
		t.Errorf("child inherited OnBuild %q", cfg.Config.OnBuild)
	}
}

// TestBuildStages builds only the stages the target needs.
func TestBuildStages(t *testing.T) {
	s := newStore(t)
	dir := writeContext(t, map[string]string{"Dockerfile": `FROM busybox AS tools
RUN echo tool > /tool
FROM busybox AS broken
RUN exit 1
FROM scratch AS final
COPY --from=tools /tool /bin/busybox /
FROM busybox AS test
RUN echo test > /t
`})
	_, progress, err := buildIn(t.Context(), s, dir, build.Options{Target: "final", Tags: []string{"final"}})
	if err != nil {
		t.Fatalf("build: %v\n%s", err, progress)
	}
	if strings.Contains(progress, "exit 1") || strings.Contains(progress, "[test") {
		t.Errorf("a stage the target does not need was built:\n%s", progress)
	}
	if out := runIn(t, s, "final", "/busybox", "cat", "/tool"); out != "tool\n" {
		t.Errorf("COPY --from: %q", out)
	}
}

// TestBuildFailureLeavesNothing checks a failing RUN's error, and that no
// container, mount or tag is left by it or by a cancelled build.
func TestBuildFailureLeavesNothing(t *testing.T) {
	s := newStore(t)
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN touch /x\nRUN exit 3\nCMD [\"x\"]\n"})
	_, _, err := buildIn(t.Context(), s, dir, build.Options{Tags: []string{"nope"}})
	var se *build.StepError
	if !errors.As(err, &se) || se.Code != 3 || err.Error() != "Dockerfile:3: step 3/4 RUN exit 3" {
		t.Errorf("error %v, want Dockerfile:3: step 3/4 RUN exit 3", err)
	}
	if _, err := s.ResolveImage("nope"); err == nil {
		t.Error("a failed build tagged its image")
	}

	dir = writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN sleep 60\n"})
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(700*time.Millisecond, cancel)
	start := time.Now()
	if _, _, err := buildIn(ctx, s, dir, build.Options{Tags: []string{"nope"}}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled build: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("cancelled build took %v", d)
	}
	if all, _ := s.List(); len(all) != 0 {
		t.Errorf("containers left: %v", all)
	}
}

// TestBuildHostileContext: nothing outside the context is read.
func TestBuildHostileContext(t *testing.T) {
	s := newStore(t)
	for _, tc := range []struct{ name, dockerfile, want string }{
		{"dotdot", "FROM busybox\nCOPY ../x /x\n", "outside the build context"},
		{"symlink out", "FROM busybox\nCOPY shadow /x\n", "shadow"},
		{"ignored", "FROM busybox\nCOPY secret /x\n", "no such file"},
		{"url", "FROM busybox\nADD http://example.com/x /x\n", "URL"},
		{"mount", "FROM busybox\nRUN --mount=type=cache,target=/c true\n", "RUN --mount"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeContext(t, map[string]string{"Dockerfile": tc.dockerfile, "shadow": "->/etc/shadow",
				"secret": "s", ".dockerignore": "secret\nDockerfile\n"})
			_, _, err := buildIn(t.Context(), s, dir, build.Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one naming %q", err, tc.want)
			}
		})
	}
	// A symlink inside a copied directory is kept as a symlink, and a
	// .dockerignore excluding the Dockerfile does not stop the build.
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nCOPY . /ctx/\n", "d/shadow": "->/etc/shadow",
		".dockerignore": "Dockerfile\n.dockerignore\n"})
	if _, progress, err := buildIn(t.Context(), s, dir, build.Options{Tags: []string{"ctx"}}); err != nil {
		t.Fatalf("build: %v\n%s", err, progress)
	}
	if out := runIn(t, s, "ctx", "sh", "-c", "readlink /ctx/d/shadow; ls /ctx"); out != "/etc/shadow\nd\n" {
		t.Errorf("copied context: %q", out)
	}
}

// TestBuildCopyThroughImageSymlink: a COPY destination through a symlink of
// the image resolves as in the container (an absolute target from its
// root, never above it), as Docker's does; nothing reaches the host.
func TestBuildCopyThroughImageSymlink(t *testing.T) {
	s := newStore(t)
	marker := "layerctl-copy-symlink-" + strconv.Itoa(os.Getpid())
	dir := writeContext(t, map[string]string{"f": "inside\n", "Dockerfile": "FROM busybox\n" +
		"RUN mkdir -p /app /deep/a && ln -s /etc /app/etc && ln -s ../../../../../tmp /deep/a/up\n" +
		"COPY f /app/etc/" + marker + "\nCOPY f /deep/a/up/" + marker + "\nCOPY f /app/etc/\n"})
	if _, progress, err := buildIn(t.Context(), s, dir, build.Options{Tags: []string{"through"}}); err != nil {
		t.Fatalf("build: %v\n%s", err, progress)
	}
	for _, host := range []string{"/etc/" + marker, "/tmp/" + marker} {
		if _, err := os.Lstat(host); err == nil {
			os.Remove(host)
			t.Errorf("the COPY wrote %s on the host", host)
		}
	}
	if out := runIn(t, s, "through", "cat", "/etc/"+marker, "/tmp/"+marker, "/etc/f"); out != "inside\ninside\ninside\n" {
		t.Errorf("copied through the image's symlinks: %q", out)
	}
}

// TestBuildReproducible: with a timestamp the same Dockerfile and context
// give the same image ID in another store.
func TestBuildReproducible(t *testing.T) {
	epoch := time.Unix(1700000000, 0)
	files := map[string]string{"Dockerfile": "FROM busybox\nENV A=1\nRUN mkdir /out && echo hi > /out/f\nCOPY f /f\n", "f": "f\n"}
	dir := writeContext(t, files)
	var ids []string
	for range 2 {
		s := newStore(t)
		id, progress, err := buildIn(t.Context(), s, dir, build.Options{Epoch: &epoch})
		if err != nil {
			t.Fatalf("build: %v\n%s", err, progress)
		}
		ids = append(ids, id.String())
	}
	if ids[0] != ids[1] {
		t.Errorf("two stores, two IDs: %v", ids)
	}
}

// TestBuildCopyHeredoc: COPY <<EOF writes the heredoc as a file named by its
// word (0644, or --chmod), its variables expanded unless the word is quoted,
// as BuildKit does; the heredoc's expanded text is in the step's cache key.
func TestBuildCopyHeredoc(t *testing.T) {
	s := newStore(t)
	dir := writeContext(t, map[string]string{"Dockerfile": `FROM busybox
ARG WHO=you
COPY <<X /c.txt
hello $WHO "q"
X
COPY --chmod=600 <<A <<"B" /d/
a ${WHO}
A
b $WHO
B
`})
	build1 := func(who string) string {
		t.Helper()
		_, progress, err := buildIn(t.Context(), s, dir, build.Options{Tags: []string{"doc"}, BuildArgs: map[string]string{"WHO": who}})
		if err != nil {
			t.Fatalf("build: %v\n%s", err, progress)
		}
		return progress
	}
	build1("you")
	out := runIn(t, s, "doc", "sh", "-c", "cat /c.txt /d/A /d/B; stat -c '%n %a %u:%g' /c.txt /d/A /d/B")
	want := "hello you \"q\"\na you\nb $WHO\n/c.txt 644 0:0\n/d/A 600 0:0\n/d/B 600 0:0\n"
	if out != want {
		t.Errorf("heredoc files:\n%s\nwant:\n%s", out, want)
	}
	var history []string
	for _, h := range configOf(t, s, "doc").History {
		history = append(history, h.CreatedBy)
	}
	if !slices.Contains(history, "COPY <<X /c.txt # buildkit") || !slices.Contains(history, `COPY --chmod=600 <<A <<B /d/ # buildkit`) {
		t.Errorf("history %q: want BuildKit's entries", history)
	}
	if progress := build1("you"); strings.Count(progress, "CACHED") != 2 {
		t.Errorf("a rebuild with nothing changed: %s", progress)
	}
	if progress := build1("me"); strings.Contains(progress, "CACHED") {
		t.Errorf("a heredoc whose variable changed was cached: %s", progress)
	}
	if out := runIn(t, s, "doc", "cat", "/c.txt"); out != "hello me \"q\"\n" {
		t.Errorf("/c.txt after the ARG changed: %q", out)
	}
}

// TestBuildPlatformArgs: BuildKit's platform ARGs are set for FROM lines and
// for a stage that declares them; FROM --platform of another platform is
// refused rather than built with this machine's binaries.
func TestBuildPlatformArgs(t *testing.T) {
	s := newStore(t)
	dir := writeContext(t, map[string]string{"Dockerfile": `ARG BASE_ARCH=$TARGETARCH
FROM --platform=$BUILDPLATFORM busybox
ARG TARGETOS TARGETARCH TARGETPLATFORM BASE_ARCH
RUN echo "$TARGETOS $TARGETARCH $TARGETPLATFORM $BASE_ARCH [$BUILDARCH]" > /p
`})
	if _, progress, err := buildIn(t.Context(), s, dir, build.Options{Tags: []string{"plat"}}); err != nil {
		t.Fatalf("build: %v\n%s", err, progress)
	}
	arch := runtime.GOARCH
	want := fmt.Sprintf("linux %s linux/%s %s []\n", arch, arch, arch)
	if arch == "arm" {
		want = "linux arm linux/arm/v7 arm []\n"
	}
	if out := runIn(t, s, "plat", "cat", "/p"); out != want {
		t.Errorf("platform ARGs: %q, want %q", out, want)
	}
	other := "linux/s390x"
	if arch == "s390x" {
		other = "linux/amd64"
	}
	dir = writeContext(t, map[string]string{"Dockerfile": "FROM --platform=" + other + " busybox\nRUN true\n"})
	if _, _, err := buildIn(t.Context(), s, dir, build.Options{}); err == nil || !strings.Contains(err.Error(), "--platform="+other) {
		t.Errorf("FROM --platform=%s: %v, want an error naming it", other, err)
	}
}

// TestBuildPull: FROM uses the store's image until --pull fetches the tag's
// newer image from the registry, as docker build --pull does; --label sets
// labels on the image built.
func TestBuildPull(t *testing.T) {
	s := newStore(t)
	busybox, err := busyboxLayout()
	if err != nil {
		t.Fatal(err)
	}
	host := registrytest.Start(t)
	registrytest.PushLayout(t, busybox, "latest", host, "base:latest")
	ref := host + "/base:latest"
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM " + ref + "\nRUN cat /v2 > /seen 2>/dev/null; true\n"})
	seen := func(o build.Options) string {
		t.Helper()
		o.Tags = []string{"pulled"}
		if _, progress, err := buildIn(t.Context(), s, dir, o); err != nil {
			t.Fatalf("build: %v\n%s", err, progress)
		}
		return runIn(t, s, "pulled", "cat", "/seen")
	}
	if got := seen(build.Options{}); got != "" {
		t.Fatalf("first build saw %q", got)
	}
	img, err := crane.Pull(ref, crane.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	layer, err := crane.Layer(map[string][]byte{"v2": []byte("2\n")})
	if err != nil {
		t.Fatal(err)
	}
	if img, err = mutate.AppendLayers(img, layer); err != nil {
		t.Fatal(err)
	}
	if err := crane.Push(img, ref, crane.Insecure); err != nil {
		t.Fatal(err)
	}
	if got := seen(build.Options{}); got != "" {
		t.Errorf("without --pull the build used the registry's newer image: %q", got)
	}
	if got := seen(build.Options{Pull: true, Labels: map[string]string{"k": "v"}}); got != "2\n" {
		t.Errorf("with --pull the build saw %q, want the newer image's /v2", got)
	}
	if l := configOf(t, s, "pulled").Config.Labels; l["k"] != "v" {
		t.Errorf("labels %v, want k=v from --label", l)
	}
}
