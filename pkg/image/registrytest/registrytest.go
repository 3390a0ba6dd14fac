// Package registrytest gives tests a real local registry (Debian's docker-registry, the
// distribution v2 server) and deterministic test images built by testdata/mkimage.sh.
//
// A typical test:
//
//	host := registrytest.Start(t)
//	layout := registrytest.MakeImage(t, "busybox")
//	registrytest.PushLayout(t, layout, "latest", host, "busybox:latest")
//	// pull host+"/busybox:latest" with plain HTTP (insecure)
//
// Missing tools make the test skip, never fail: `make deps` installs them.
package registrytest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// startTimeout bounds how long Start waits for the registry to answer.
const startTimeout = 10 * time.Second

// Start runs docker-registry on 127.0.0.1 with a free port and storage in a temporary
// directory, waits until GET /v2/ answers, and returns "127.0.0.1:PORT". The registry
// speaks plain HTTP and needs no credentials; it is killed when the test ends.
func Start(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Skip("registrytest: docker-registry not found (Debian package docker-registry; run `make deps`)")
	}
	// The free port can be taken by someone else between our probe and the registry's
	// bind; a registry that exits at once is started again on another port.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		host, err := start(t, bin, "")
		if err == nil {
			return host
		}
		lastErr = err
	}
	t.Fatalf("registrytest: %v", lastErr)
	return ""
}

// StartAuth is Start with htpasswd authentication: the registry takes user
// and password (basic auth) and answers 401 to anyone else.
func StartAuth(t testing.TB, user, password string) string {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Skip("registrytest: docker-registry not found (Debian package docker-registry; run `make deps`)")
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	htpasswd := filepath.Join(t.TempDir(), "htpasswd")
	if err := os.WriteFile(htpasswd, []byte(user+":"+string(hash)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	auth := fmt.Sprintf("auth:\n  htpasswd:\n    realm: registrytest\n    path: %s\n", htpasswd)
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		host, err := start(t, bin, auth)
		if err == nil {
			return host
		}
		lastErr = err
	}
	t.Fatalf("registrytest: %v", lastErr)
	return ""
}

// start runs one registry; auth is a config section ("" for none).
func start(t testing.TB, bin, auth string) (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	host := fmt.Sprintf("127.0.0.1:%d", port)
	dir := t.TempDir()
	config := filepath.Join(dir, "config.yml")
	err = os.WriteFile(config, []byte(fmt.Sprintf(`version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
%s`, filepath.Join(dir, "data"), host, auth)), 0o644)
	if err != nil {
		return "", err
	}
	logPath := filepath.Join(dir, "registry.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return "", err
	}
	defer logFile.Close()

	cmd := exec.Command(bin, "serve", config)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = registryEnv()
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start docker-registry: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	// Registered after t.TempDir, so it runs before the data dir is removed.
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for {
		if ping(ctx, host) {
			return host, nil
		}
		select {
		case <-exited:
			return "", fmt.Errorf("docker-registry on %s exited at start: %s", host, readLog(logPath))
		case <-ctx.Done():
			cmd.Process.Kill()
			return "", fmt.Errorf("docker-registry on %s did not answer GET /v2/ within %v: %s",
				host, startTimeout, readLog(logPath))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// freePort asks the kernel for a port that is free right now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// registryEnv is our environment without REGISTRY_* variables: the registry reads them as
// overrides of its config file (REGISTRY_HTTP_ADDR would move it to another address).
func registryEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "REGISTRY_") {
			env = append(env, kv)
		}
	}
	return env
}

func ping(ctx context.Context, host string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+host+"/v2/", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	// 401: up, and asking for credentials (StartAuth).
	return resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized
}

func readLog(path string) string {
	b, _ := os.ReadFile(path)
	return strings.TrimSpace(string(b))
}

// Skopeo runs skopeo with args and returns its combined output; on error it fails the test
// with that output. It skips the test when skopeo is not installed. The signature policy is
// not consulted (--insecure-policy): a fresh machine may lack /etc/containers/policy.json.
func Skopeo(t testing.TB, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("skopeo"); err != nil {
		t.Skip("registrytest: skopeo not found (Debian package skopeo; run `make deps`)")
	}
	args = append([]string{"--insecure-policy"}, args...)
	out, err := exec.Command("skopeo", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("skopeo %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// PushLayout copies the image tagged tag in the OCI layout dir to host/repoTag
// (for example "busybox:latest") over plain HTTP.
func PushLayout(t testing.TB, layout, tag, host, repoTag string) {
	t.Helper()
	Skopeo(t, "copy", "-q", "--dest-tls-verify=false",
		"oci:"+layout+":"+tag, "docker://"+host+"/"+repoTag)
}

// MakeImage runs testdata/mkimage.sh KIND ARGS... OUTDIR into a temporary directory and
// returns the OCI layout's path; the image is tagged "latest". Kinds: "busybox",
// "many" with the layer count as its argument, "derived" (see the script's header).
// The same kind and arguments give the same digests on every run.
func MakeImage(t testing.TB, kind string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("umoci"); err != nil {
		t.Skip("registrytest: umoci not found (Debian package umoci; run `make deps`)")
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("registrytest: /bin/busybox not found (Debian package busybox-static; run `make deps`)")
	}
	out, err := BuildImage(t.TempDir(), kind, args...)
	if err != nil {
		t.Fatalf("registrytest: %v", err)
	}
	return out
}

// BuildImage is MakeImage for callers without a test at hand (a layout
// built once per test binary): it writes the layout to DIR/KIND and
// returns that path. Unlike MakeImage it does not check for the tools.
func BuildImage(dir, kind string, args ...string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, kind)
	argv := append([]string{filepath.Join(root, "testdata", "mkimage.sh"), kind}, args...)
	argv = append(argv, out)
	cmd := exec.Command("bash", argv...)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("mkimage.sh %s: %v\n%s", strings.Join(argv[1:], " "), err, output.String())
	}
	return out, nil
}

// RepoRoot returns the directory holding go.mod, found by walking up from the working
// directory (go test runs a package's tests in the package's directory).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}
