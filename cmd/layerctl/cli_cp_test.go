package main

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/layerctl/layerctl/pkg/union/uniontest"
)

// cp both ways, with a container running or not (mounted for the copy
// and unmounted after), - for tar streams, and docker cp's dir rules.
func TestCLICp(t *testing.T) {
	t.Parallel()
	b := newBox(t)
	host := t.TempDir()
	in := filepath.Join(host, "in")
	for name, body := range map[string]string{"in/a": "A\n", "in/sub/b": "B\n"} {
		p := filepath.Join(host, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	id := strings.TrimSpace(b.mustRun(t, "create", "--name", "box", busyboxImage, "sleep", "100"))
	b.track(id)

	b.mustRun(t, "cp", in, "box:/tmp")              // a dir into a dir
	b.mustRun(t, "cp", in+"/.", "box:/srv")         // its contents into another
	b.mustRun(t, "cp", in+"/a", "box:/tmp/renamed") // a file to a new name
	if mounts := strings.Count(readMounts(t), b.root); mounts != 0 {
		t.Errorf("cp left %d mounts of a stopped container", mounts)
	}
	b.mustRun(t, "start", "box")
	b.waitStatus(t, "box", "running")
	if out := b.mustRun(t, "exec", "box", "cat", "/tmp/in/a", "/tmp/in/sub/b", "/srv/a", "/tmp/renamed"); out != "A\nB\nA\nA\n" {
		t.Errorf("files in the running container: %q", out)
	}
	b.mustRun(t, "exec", "box", "sh", "-c", "echo C > /tmp/in/c")
	out := filepath.Join(host, "out")
	b.mustRun(t, "cp", "box:/tmp/in", out) // out of a running container
	if got, err := os.ReadFile(filepath.Join(out, "c")); err != nil || string(got) != "C\n" {
		t.Errorf("cp out of a running container: %q, %v", got, err)
	}

	// - : a tar stream out, and one in.
	tarOut := b.mustRun(t, "cp", "box:/tmp/renamed", "-")
	tr := tar.NewReader(strings.NewReader(tarOut))
	if h, err := tr.Next(); err != nil || h.Name != "renamed" {
		t.Errorf("cp box:/tmp/renamed -: first entry %+v, %v", h, err)
	}
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	tw.WriteHeader(&tar.Header{Name: "streamed", Mode: 0o600, Size: 3, Typeflag: tar.TypeReg})
	tw.Write([]byte("S!\n"))
	tw.Close()
	cmd := command(b.root, "cp", "-", "box:/tmp")
	cmd.Stdin = &tb
	if outb, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cp - box:/tmp: %v %s", err, outb)
	}
	if got := b.mustRun(t, "exec", "box", "cat", "/tmp/streamed"); got != "S!\n" {
		t.Errorf("streamed file: %q", got)
	}

	for _, bad := range [][]string{
		{"cp", in, "box:/tmp/renamed"}, // a dir onto a file
		{"cp", "box:/nosuch", host},
		{"cp", "box:/a", "box:/b"},
		{"cp", "nosuchbox:/a", host},
		{"cp", in},
	} {
		_, stderr, code := b.run(t, bad...)
		checkOneLineError(t, stderr, code)
	}
	b.mustRun(t, "stop", "-t", "0", "box")
}

func readMounts(t *testing.T) string {
	b, err := os.ReadFile("/proc/mounts")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A reader that stops early (cp c:/. - | head) ends cp quietly with 141, as
// a writer killed by SIGPIPE, and the container it mounted for the copy is
// unmounted: rm needs no -f.
func TestCLICpReaderGone(t *testing.T) {
	t.Parallel()
	b := newBox(t)
	id := strings.TrimSpace(b.mustRun(t, "create", "--name", "gone", busyboxImage))
	b.track(id)
	cmd := command(b.root, "cp", "gone:/.", "-")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close() // no reader at all: the first write fails
	var errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = w, &errOut
	cmd.Run()
	w.Close()
	if code := cmd.ProcessState.ExitCode(); code != 141 || errOut.Len() != 0 {
		t.Errorf("cp to a closed pipe: exit %d, stderr %q; want 141 and nothing", code, errOut.String())
	}
	if m := uniontest.MountsUnder(t, b.root); len(m) != 0 {
		t.Errorf("mounts left: %v", m)
	}
	b.mustRun(t, "rm", "gone")
}

// Ctrl-C while cp is blocked on a reader that does not read ends it with
// 130 and gives back the mount it held: rm needs no -f.
func TestCLICpInterrupted(t *testing.T) {
	t.Parallel()
	b := newBox(t)
	b.mustRun(t, "run", "--name", "big", busyboxImage, "dd", "if=/dev/zero", "of=/big", "bs=1M", "count=8")
	cmd := command(b.root, "cp", "big:/big", "-")
	r, w, err := os.Pipe() // never read: cp blocks once the pipe is full
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = w, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	defer cmd.Process.Kill()
	for deadline := time.Now().Add(30 * time.Second); len(uniontest.MountsUnder(t, b.root)) == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("cp never mounted the container")
		}
	}
	time.Sleep(100 * time.Millisecond) // into the copy, blocked on the pipe
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 || errOut.String() != "layerctl: cp: interrupted (SIGINT)\n" {
		t.Errorf("exit %d, stderr %q; want 130 and the interruption", code, errOut.String())
	}
	if m := uniontest.MountsUnder(t, b.root); len(m) != 0 {
		t.Errorf("mounts left: %v", m)
	}
	b.mustRun(t, "rm", "big")
}
