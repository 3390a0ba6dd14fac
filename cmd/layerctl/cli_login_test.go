package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creack/pty"

	"github.com/layerctl/layerctl/pkg/image/registrytest"
)

// runWithConfig runs layerctl with its own Docker config directory and
// stdin, so that a login stays in this test.
func runWithConfig(t *testing.T, config, root, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := command(root, args...)
	for i, kv := range cmd.Env {
		if strings.HasPrefix(kv, "DOCKER_CONFIG=") {
			cmd.Env[i] = "DOCKER_CONFIG=" + config
		}
	}
	var out, errOut bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &out, &errOut
	if err := cmd.Run(); err != nil {
		code = cmd.ProcessState.ExitCode()
		if code < 0 {
			t.Fatalf("layerctl %v: %v", args, err)
		}
	}
	return out.String(), errOut.String(), code
}

// login keeps the credentials in the Docker config file, where push and
// pull find them; a wrong password is refused and changes nothing; logout
// forgets them.
func TestCLILoginLogout(t *testing.T) {
	t.Parallel()
	host := registrytest.StartAuth(t, "alice", "s3cret")
	config := t.TempDir()
	root := newRoot(t)
	pullID(t, root, "oci:"+writeLayout(t, newImage(t, baseLayer(t, 1)), "latest")+":latest", "app:1")
	lc := func(stdin string, args ...string) (string, string, int) {
		return runWithConfig(t, config, root, stdin, args...)
	}

	_, stderr, code := lc("", "push", "--insecure", "app:1", host+"/app:1")
	checkOneLineError(t, stderr, code)
	if !strings.Contains(stderr, "authentication required") || !strings.Contains(stderr, "layerctl login") {
		t.Errorf("push without login: %q, want the registry's refusal", stderr)
	}

	_, stderr, code = lc("wrong\n", "login", "--insecure", "-u", "alice", "--password-stdin", host)
	checkOneLineError(t, stderr, code)
	if !strings.Contains(stderr, "wrong user name or password") {
		t.Errorf("login with a wrong password: %q", stderr)
	}
	if _, err := os.Stat(filepath.Join(config, "config.json")); err == nil {
		t.Errorf("a refused login wrote config.json")
	}

	out, stderr, code := lc("s3cret\n", "login", "--insecure", "-u", "alice", "--password-stdin", host)
	if code != 0 || out != "Login Succeeded\n" {
		t.Fatalf("login: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	var cf struct {
		Auths map[string]struct{ Auth string }
	}
	b, err := os.ReadFile(filepath.Join(config, "config.json"))
	if err != nil || json.Unmarshal(b, &cf) != nil || cf.Auths[host].Auth == "" {
		t.Fatalf("config.json after login: %s (%v)", b, err)
	}

	if out, stderr, code := lc("", "push", "--insecure", "app:1", host+"/app:1"); code != 0 {
		t.Fatalf("push after login: exit %d: %s%s", code, out, stderr)
	}
	if out, stderr, code := lc("", "pull", "--insecure", host+"/app:1"); code != 0 {
		t.Fatalf("pull after login: exit %d: %s%s", code, out, stderr)
	}

	if out, stderr, code := lc("", "logout", host); code != 0 || !strings.Contains(out, host) {
		t.Fatalf("logout: exit %d, %q %q", code, out, stderr)
	}
	_, stderr, code = lc("", "logout", host)
	checkOneLineError(t, stderr, code)
	if !strings.Contains(stderr, "not logged in") {
		t.Errorf("second logout: %q", stderr)
	}
	_, stderr, code = lc("", "push", "--insecure", "app:1", host+"/app:2")
	checkOneLineError(t, stderr, code)
}

// push draws a bar per layer on stderr when it is a terminal, and prints
// only the manifest digest on stdout.
func TestCLIPushProgress(t *testing.T) {
	t.Parallel()
	root := newRoot(t)
	img := newImage(t, baseLayer(t, 1), appLayer(t, "app"))
	pullID(t, root, "oci:"+writeLayout(t, img, "latest")+":latest", "app:1")
	var stdout bytes.Buffer
	cmd := command(root, "push", "app:1", "oci:"+filepath.Join(t.TempDir(), "out")+":app")
	cmd.Stdout = &stdout
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 120})
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	screen, _ := io.ReadAll(tty) // EIO once the process is gone
	if err := cmd.Wait(); err != nil {
		t.Fatalf("push on a terminal: %v:\n%s", err, screen)
	}
	if n := strings.Count(string(screen), "done"); n < 2 {
		t.Errorf("the terminal shows %d finished bars, want one per layer (2):\n%s", n, screen)
	}
	if !strings.HasPrefix(stdout.String(), "sha256:") || strings.Count(stdout.String(), "\n") != 1 {
		t.Errorf("stdout %q, want the manifest digest alone", stdout.String())
	}
}
