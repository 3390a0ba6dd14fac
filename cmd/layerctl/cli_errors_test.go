package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// closedPort is a TCP port on 127.0.0.1 that nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// Every bad input fails with exit code 1 and one stderr line, and leaves the
// store as it was.
func TestCLIBadInput(t *testing.T) {
	t.Parallel()
	root := newRoot(t)
	img := newImage(t, baseLayer(t, 4), appLayer(t, "bad"))
	dir := writeLayout(t, img, "latest")
	pullID(t, root, "oci:"+dir, "present")
	storeJSON, err := os.ReadFile(filepath.Join(root, "store.json"))
	if err != nil {
		t.Fatal(err)
	}
	// Another driver than the one the store recorded (overlay here).
	other := "vfs"
	if defaultDriver(t) == "vfs" {
		other = "overlay"
	}
	if !strings.Contains(string(storeJSON), `"`+defaultDriver(t)+`"`) {
		t.Fatalf("store.json does not record the default driver %s:\n%s", defaultDriver(t), storeJSON)
	}
	before := snapshot(t, root)
	if len(before.layers) != 2 || len(before.images) != 2 {
		t.Fatalf("store before: %+v, want 2 layers and a record + refs.json", before)
	}

	for _, tc := range []struct {
		name string
		args []string
	}{
		{"pull missing oci dir", []string{"pull", "oci:" + filepath.Join(t.TempDir(), "missing") + ":latest"}},
		{"pull missing tag", []string{"pull", "oci:" + dir + ":nope"}},
		{"pull bad reference", []string{"pull", "Not//A:valid:reference"}},
		{"pull bad reference with name", []string{"pull", "docker://UPPER/case:x", "name"}},
		{"pull unreachable registry", []string{"pull", "--insecure", fmt.Sprintf("127.0.0.1:%d/nothing/here:latest", closedPort(t))}},
		{"pull bad platform", []string{"pull", "--platform", "linux", "oci:" + dir}},
		{"pull missing docker archive", []string{"pull", "docker-archive:" + filepath.Join(t.TempDir(), "missing.tar")}},
		{"pull no args", []string{"pull"}},
		{"pull three args", []string{"pull", "a", "b", "c"}},
		{"inspect unknown", []string{"inspect", "unknown:tag"}},
		{"inspect unknown ID", []string{"inspect", "sha256:" + strings.Repeat("0", 64)}},
		{"rmi unknown", []string{"rmi", "unknown"}},
		{"verify unknown", []string{"verify", "unknown"}},
		{"images bad template", []string{"images", "--format", "{{.ID"}},
		{"layers unknown format", []string{"layers", "--format", "yaml"}},
		{"inspect bad template", []string{"inspect", "--format", "{{.Id", "present"}},
		{"unknown driver", []string{"--driver", "bogus", "images"}},
		{"other driver than the store's", []string{"--driver", other, "images"}},
		{"other driver on pull", []string{"--driver", other, "pull", "oci:" + dir, "other"}},
		{"unknown log level", []string{"--log-level", "loud", "images"}},
		{"unknown command flag", []string{"images", "--bogus"}},
		{"unknown global flag", []string{"--bogus", "images"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := run(t, root, tc.args...)
			checkOneLineError(t, stderr, code)
			if strings.HasPrefix(stderr, "layerctl: ") && len(stderr) < len("layerctl: x: y") {
				t.Errorf("stderr %q says too little", stderr)
			}
			if strings.Contains(stdout, "sha256:") {
				t.Errorf("a failed command printed an ID on stdout: %q", stdout)
			}
			checkUnchanged(t, root, before)
			if got, _ := os.ReadFile(filepath.Join(root, "store.json")); string(got) != string(storeJSON) {
				t.Errorf("store.json changed:\n%s\nwas:\n%s", got, storeJSON)
			}
		})
	}

	// An unknown driver on a new root creates no store.
	fresh := newRoot(t)
	_, stderr, code := run(t, fresh, "--driver", "bogus", "images")
	checkOneLineError(t, stderr, code)
	if _, err := os.Stat(filepath.Join(fresh, "store.json")); !os.IsNotExist(err) {
		t.Errorf("--driver bogus recorded a store: %v", err)
	}
	// The store still works.
	_, _, chainIDs := imageIDs(t, img)
	verifyOK(t, root, chainIDs, "present")
}
