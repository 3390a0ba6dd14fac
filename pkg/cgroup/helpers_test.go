package cgroup

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// helperEnv makes the test binary, re-executed, run a helper instead of the
// tests: a process with known behaviour to put in a cgroup.
const helperEnv = "LAYERCTL_CGROUP_TEST_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(runHelper(mode, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// runHelper waits for a line on stdin, so that the test can move it into a
// cgroup first, then:
//   - alloc MB: allocates and touches MB MiB, says "allocated", waits for EOF;
//   - tick: writes a byte to stdout every 2 ms, forever;
//   - spin: burns CPU, forever.
func runHelper(mode string, args []string) int {
	in := bufio.NewReader(os.Stdin)
	if _, err := in.ReadString('\n'); err != nil {
		return 3
	}
	switch mode {
	case "alloc":
		mb, _ := strconv.Atoi(args[0])
		buf := make([]byte, mb<<20)
		for i := 0; i < len(buf); i += 4096 {
			buf[i] = 1
		}
		fmt.Println("allocated")
		_, _ = io.Copy(io.Discard, in)
		return int(buf[0]) - 1
	case "tick":
		for {
			if _, err := os.Stdout.Write([]byte{'.'}); err != nil {
				return 1
			}
			time.Sleep(2 * time.Millisecond)
		}
	case "spin":
		for {
		}
	}
	return 2
}

// proc is a process a test started.
type proc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout io.Reader
	stderr bytes.Buffer
}

// start runs cmd, moves it into c (when not nil) and makes sure it is
// killed, by its PID, and reaped when the test ends.
func start(t *testing.T, c *Cgroup, cmd *exec.Cmd) *proc {
	t.Helper()
	p := &proc{cmd: cmd}
	var err error
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if cmd.Stdout == nil {
		if p.stdout, err = cmd.StdoutPipe(); err != nil {
			t.Fatal(err)
		}
	}
	cmd.Stderr = &p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c != nil {
			_ = c.Thaw() // a frozen process cannot die
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	if c != nil {
		if err := c.Add(cmd.Process.Pid); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// startHelper starts the test binary as helper mode (see runHelper).
func startHelper(t *testing.T, c *Cgroup, mode string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	return start(t, c, cmd)
}

// release lets a gated process go on.
func (p *proc) release(t *testing.T) {
	t.Helper()
	if _, err := io.WriteString(p.stdin, "go\n"); err != nil {
		t.Fatal(err)
	}
}

// requireV1 skips the test unless it can make real cgroups in the v1
// hierarchies of the given controllers.
func requireV1(t *testing.T, controllers ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to make cgroups")
	}
	mode, err := Detect()
	if err != nil {
		t.Skipf("no usable cgroups: %v", err)
	}
	if mode != V1 {
		t.Skipf("needs the v1 hierarchies; this machine's cgroups are %s", mode)
	}
	for _, c := range controllers {
		if !exists(filepath.Join(DefaultRoot, c, "cgroup.procs")) {
			t.Skipf("the v1 %s controller is not mounted at %s", c, filepath.Join(DefaultRoot, c))
		}
	}
}

// testID names a test's cgroup after the test and this process, so that
// runs side by side do not collide.
func testID(t *testing.T) string {
	return fmt.Sprintf("test-%d-%s", os.Getpid(), strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()))
}

// newCgroup creates a real cgroup that is killed and removed when the test
// ends; processes started after it are cleaned up before it.
func newCgroup(t *testing.T, l Limits) *Cgroup {
	t.Helper()
	c, err := Create(testID(t), l)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Kill()
		if err := c.Remove(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return c
}

// waitFor polls cond every few ms for up to d.
func waitFor(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

func readTrim(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
