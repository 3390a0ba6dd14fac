package main

// run and exec on the caller's terminal: as Docker, stdin only with -i, a
// pty only with -t, -it only on a terminal; and the container never holds
// the caller's terminal, so it cannot read what is typed at it nor change
// its modes.

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// commandIn returns a run or exec command line for a container that runs
// args, on the box's store; the exec container is started on first use,
// with the volume run gets.
func commandIn(t *testing.T, b *box, kind, vol string, flags []string, args ...string) []string {
	if kind == "run" {
		return append(append(append([]string{"run", "--rm", "-v", vol + ":/sync"}, flags...), busyboxImage), args...)
	}
	if _, ok := b.find(t, "svc"); !ok {
		b.detach(t, "--name", "svc", "-v", vol+":/sync", busyboxImage, "sleep", "1000")
	}
	return append(append(append([]string{"exec"}, flags...), "svc"), args...)
}

// The probe a hostile container runs on the fds it got (see
// pkg/ns/stdio_test.go).
const probeTerminal = `ttys=; for fd in 0 1 2; do [ -t $fd ] && ttys="$ttys$fd"; done
exec 3>&1
in=$(readlink /proc/self/fd/0 | cut -c1-5); out=$(readlink /proc/self/fd/3 | cut -c1-5); err=$(readlink /proc/self/fd/2 | cut -c1-5)
stolen=$(head -c 3 <&3 2>/dev/null)
stty=refused; stty -echo -icanon <&3 2>/dev/null && stty=changed; stty -echo -icanon <&2 2>/dev/null && stty=changed
echo "ttys=[$ttys] in=$in out=$out err=$err stolen=[$stolen] stty=$stty"`

// Without -i and -t, a container run or exec'd from a terminal gets no
// stdin and pipes for its output: it cannot read what is typed ahead for
// the caller's shell, nor change the terminal.
func TestCLIStdioNoFlags(t *testing.T) {
	b := newBox(t)
	vol := t.TempDir()
	for _, kind := range []string{"run", "exec"} {
		t.Run(kind, func(t *testing.T) {
			ct := newPty(t)
			ct.typeIn("secret\n")
			ct.expect("secret")
			ct.start(command(b.root, commandIn(t, b, kind, vol, nil, "sh", "-c", probeTerminal)...))
			if code := ct.wait(); code != 0 {
				t.Fatalf("exit %d", code)
			}
			ct.expect("ttys=[] in=/dev/ out=pipe: err=pipe: stolen=[] stty=refused\r\n")
			ct.cooked("after")
			if n := ct.unread(); n != len("secret\n") {
				t.Errorf("%d bytes typed ahead are left, want %d", n, len("secret\n"))
			}
		})
	}
}

// -i without -t: the container reads what is typed through a pipe, and the
// terminal keeps its mode; -t without -i: the container has a pty for its
// output and nothing of the caller's terminal is read or made raw. Each
// container says "ready", then waits for the test on a FIFO.
func TestCLIStdioInteractiveOrTTY(t *testing.T) {
	b := newBox(t)
	vol := t.TempDir()
	for _, tc := range []struct {
		name  string
		flags []string
		// typed after "ready", and what the container then shows (a pty
		// of the container's and the caller's terminal both end lines
		// with \r: left out)
		typed, shown string
		// typed ahead: left for the caller's shell when no stdin
		left int
	}{
		{"i", []string{"-i"}, "hello\n", "got=hello in=pipe: tty=no", 0},
		{"t", []string{"-t"}, "", "got= in=/dev/ tty=yes", len("secret\n")},
	} {
		for _, kind := range []string{"run", "exec"} {
			t.Run(tc.name+"/"+kind, func(t *testing.T) {
				fifo := filepath.Join(vol, "go-"+tc.name+"-"+kind)
				if err := unix.Mkfifo(fifo, 0o600); err != nil {
					t.Fatal(err)
				}
				script := `echo ready; read -r go </sync/` + filepath.Base(fifo) + `
line=; [ -t 0 ] || read -r line; t=no; [ -t 1 ] && t=yes
echo "got=$line in=$(readlink /proc/self/fd/0 | cut -c1-5) tty=$t"`
				ct := newPty(t)
				if tc.left > 0 {
					ct.typeIn("secret\n")
					ct.expect("secret")
				}
				ct.start(command(b.root, commandIn(t, b, kind, vol, tc.flags, "sh", "-c", script)...))
				ct.expect("ready")
				ct.cooked("during")
				ct.typeIn(tc.typed)
				if err := os.WriteFile(fifo, []byte("go\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				ct.expect(tc.shown)
				if code := ct.wait(); code != 0 {
					t.Fatalf("exit %d", code)
				}
				ct.cooked("after")
				if n := ct.unread(); n != tc.left {
					t.Errorf("%d bytes typed are left for the caller's shell, want %d", n, tc.left)
				}
			})
		}
	}
}

// -it needs a terminal on stdin: without one, run and exec fail at once
// with Docker's message and exit code, and run makes no container.
func TestCLIInputNotATTY(t *testing.T) {
	b := newBox(t)
	b.detach(t, "--name", "svc", busyboxImage, "sleep", "1000")
	for _, args := range [][]string{
		{"run", "-it", "--rm", busyboxImage, "sh"},
		{"run", "-i", "-t", busyboxImage, "sh"},
		{"exec", "-it", "svc", "sh"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, binPath, append([]string{"--root", b.root}, args...)...)
			cmd.Env = testEnv()
			cmd.Stdin = strings.NewReader("echo x\n")
			var out, errOut bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errOut
			cmd.Run()
			if ctx.Err() != nil {
				t.Fatalf("layerctl %s with a pipe for stdin hangs", strings.Join(args, " "))
			}
			if code := cmd.ProcessState.ExitCode(); code != 1 || out.Len() != 0 {
				t.Errorf("exit %d, stdout %q; want 1 and nothing", code, out.String())
			}
			checkOneLine(t, errOut.String(), args[0]+": the input device is not a TTY")
			if rows := b.ps(t, true); len(rows) != 1 {
				t.Errorf("%d containers, want only svc", len(rows))
			}
		})
	}
}
