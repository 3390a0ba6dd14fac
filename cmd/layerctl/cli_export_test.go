package main

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// export writes a container's filesystem (its changes included, deletions
// gone, owners kept); import makes a one-layer image of it, from a file or
// gzip on stdin, with --change and -m, as docker export and import do.
func TestCLIExportImport(t *testing.T) {
	t.Parallel()
	b := newBox(t)
	b.mustRun(t, "run", "--name", "src", busyboxImage, "sh", "-c",
		"echo data > /data && touch /owned && chown 1234:1234 /owned && rm /bin/vi")
	tarball := filepath.Join(t.TempDir(), "fs.tar")
	b.mustRun(t, "export", "-o", tarball, "src")
	if _, err := os.Stat(tarball + ".part"); err == nil {
		t.Error("export left its .part file")
	}
	id := strings.TrimSpace(b.mustRun(t, "import", "-c", `CMD ["cat", "/data"]`, "-m", "from src", tarball, "imported:1"))
	if !strings.HasPrefix(id, "sha256:") {
		t.Fatalf("import printed %q, want the image ID", id)
	}
	if out := b.mustRun(t, "run", "--rm", "imported:1"); out != "data\n" {
		t.Errorf("the imported image's CMD printed %q", out)
	}
	if out := b.mustRun(t, "run", "--rm", "imported:1", "sh", "-c", "stat -c %u:%g /owned; ls /bin/vi 2>/dev/null || echo no-vi"); out != "1234:1234\nno-vi\n" {
		t.Errorf("imported tree: %q", out)
	}
	if out := b.mustRun(t, "history", "imported:1"); !strings.Contains(out, "from src") {
		t.Errorf("history:\n%s\nwant the -m comment", out)
	}

	raw, err := os.ReadFile(tarball)
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	cmd := command(b.root, "import", "-", "fromstdin")
	cmd.Stdin = &gz
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("import - of gzip: %v: %s", err, out)
	}
	if out := b.mustRun(t, "run", "--rm", "fromstdin", "cat", "/data"); out != "data\n" {
		t.Errorf("image imported from stdin: %q", out)
	}

	for name, body := range map[string][]byte{
		"not a tar": []byte(strings.Repeat("not a tar stream\n", 100)),
		"xz":        {0xfd, '7', 'z', 'X', 'Z', 0, 1, 2},
	} {
		bad := filepath.Join(t.TempDir(), "bad")
		os.WriteFile(bad, body, 0o644)
		_, errOut, code := b.run(t, "import", bad, "bad:1")
		if code != 1 {
			t.Errorf("%s: exit %d", name, code)
		}
		checkOneLine(t, errOut, "import")
		if _, _, code := b.run(t, "inspect", "bad:1"); code == 0 {
			t.Errorf("%s: an image was made", name)
		}
	}
}
