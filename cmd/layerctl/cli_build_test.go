package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/layerctl/layerctl/pkg/union/uniontest"
)

// TestCLIBuildInterrupted: Ctrl-C during a RUN ends build as a shell reports
// a process SIGINT ended (130), with a one-line reason, and leaves no tag,
// container, mount or process.
func TestCLIBuildInterrupted(t *testing.T) {
	b := newBox(t)
	dir := t.TempDir()
	dockerfile := "FROM busybox\nRUN echo step-started && exec sleep 30\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := command(b.root, "build", "-t", "interrupted", dir)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	// The reader alone touches lines until done closes.
	var lines []string
	started, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		seen := false
		for sc.Scan() {
			lines = append(lines, sc.Text())
			// The step's output, not its header ("RUN echo step-started ..."),
			// once: the process runs.
			if l := sc.Text(); !seen && strings.Contains(l, "step-started") && !strings.Contains(l, "RUN") {
				seen = true
				close(started)
			}
		}
	}()
	select {
	case <-started:
	case <-done:
		t.Fatal("build ended before its RUN step started")
	case <-time.After(time.Minute):
		t.Fatal("the RUN step did not start")
	}
	start := time.Now()
	cmd.Process.Signal(syscall.SIGINT)
	<-done
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("exit code %d, want 130", code)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("build took %v to end after SIGINT", d)
	}
	if last := lines[len(lines)-1]; last != "layerctl: build: interrupted (SIGINT): nothing was tagged" {
		t.Errorf("last line %q, want the interruption", last)
	}
	if _, _, code := b.run(t, "inspect", "interrupted"); code == 0 {
		t.Error("an interrupted build tagged its image")
	}
	if m := uniontest.MountsUnder(t, b.root); len(m) != 0 {
		t.Errorf("mounts left: %v", m)
	}
	if left, _ := os.ReadDir(filepath.Join(b.root, "containers")); len(left) != 0 {
		t.Errorf("containers left: %d", len(left))
	}
}

// TestCLIBuildDockerfileFromStdin: -f - reads the Dockerfile from standard
// input, as docker build -f - does; the context is still the directory.
func TestCLIBuildDockerfileFromStdin(t *testing.T) {
	b := newBox(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("from the context\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	build := func(dockerfile string) (string, string, int) {
		cmd := command(b.root, "build", "-q", "-t", "stdin", "-f", "-", dir)
		cmd.Stdin = strings.NewReader(dockerfile)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		cmd.Run()
		return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
	}
	if out, errOut, code := build("FROM busybox\nCOPY f /f\n"); code != 0 {
		t.Fatalf("build -f -: exit %d: %s%s", code, out, errOut)
	}
	if got := b.mustRun(t, "run", "--rm", "stdin", "cat", "/f"); got != "from the context\n" {
		t.Errorf("/f is %q", got)
	}
	_, errOut, code := build("")
	if code != 1 {
		t.Errorf("empty Dockerfile on stdin: exit %d, want 1", code)
	}
	checkOneLine(t, errOut, "Dockerfile", "no instructions")
}

// TestCLIBuildDockerFlags: the docker build flags scripts pass: --progress
// (plain output either way; quiet as -q), --iidfile and --label.
func TestCLIBuildDockerFlags(t *testing.T) {
	b := newBox(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM busybox\nLABEL a=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	iid := filepath.Join(t.TempDir(), "iid")
	out, errOut, code := b.run(t, "build", "--progress=quiet", "--iidfile", iid, "--label", "b=2", "--label", "a=3", "-t", "flags", dir)
	if code != 0 || errOut != "" {
		t.Fatalf("build: exit %d, stderr %q", code, errOut)
	}
	written, err := os.ReadFile(iid)
	if err != nil || string(written)+"\n" != out {
		t.Errorf("--iidfile holds %q (%v), stdout %q", written, err, out)
	}
	var one struct {
		Config struct {
			Config struct{ Labels map[string]string } `json:"config"`
		}
	}
	if err := json.Unmarshal([]byte(b.mustRun(t, "inspect", "flags")), &one); err != nil {
		t.Fatal(err)
	}
	if l := one.Config.Config.Labels; l["a"] != "3" || l["b"] != "2" {
		t.Errorf("labels %v, want a=3 (--label over LABEL) and b=2", l)
	}
	_, errOut, code = b.run(t, "build", "--progress=fancy", dir)
	if code != 1 {
		t.Errorf("--progress=fancy: exit %d", code)
	}
	checkOneLine(t, errOut, "--progress", "fancy")
}
