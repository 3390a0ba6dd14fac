package image_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/layerctl/layerctl/pkg/image"
)

// An oci: or docker-archive: location splits into an existing path and a
// reference, whatever colons either holds.
func TestParseLocationPaths(t *testing.T) {
	base := t.TempDir()
	mkdir := func(rel string) string {
		p := filepath.Join(base, rel)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	touch := func(rel string) string {
		p := filepath.Join(base, rel)
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	lay := mkdir("lay")
	colon := mkdir("with:colon/lay")
	mkdir("a")
	ab := mkdir("a:b") // both "a" and "a:b" exist: the longest wins
	archive := touch("archive")
	tarColon := touch("a.tar:b.tar")
	mkdir("dironly")
	const full = "docker.io/library/busybox:1.36"

	for _, tc := range []struct {
		name, src       string
		wantPath, wantR string
	}{
		{"oci dir", "oci:" + lay, lay, ""},
		{"oci tag", "oci:" + lay + ":latest", lay, "latest"},
		{"oci full reference", "oci:" + lay + ":" + full, lay, full},
		{"oci reference with port", "oci:" + lay + ":localhost:5000/app:v1", lay, "localhost:5000/app:v1"},
		{"oci colon in dir", "oci:" + colon, colon, ""},
		{"oci colon in dir, tag", "oci:" + colon + ":v1", colon, "v1"},
		{"oci colon in dir, full reference", "oci:" + colon + ":" + full, colon, full},
		{"oci longest existing prefix", "oci:" + ab, ab, ""},
		{"oci longest existing prefix, tag", "oci:" + ab + ":v1", ab, "v1"},
		{"oci trailing slash", "oci:" + lay + "/:v1", lay + "/", "v1"},
		{"oci missing dir, tag", "oci:" + base + "/missing:latest", base + "/missing", "latest"},
		{"oci missing dir, full reference", "oci:" + base + "/missing:" + full, base + "/missing", full},
		{"oci missing dir", "oci:" + base + "/missing", base + "/missing", ""},
		{"oci missing parents, tag", "oci:" + base + "/no/such/dir:latest", base + "/no/such/dir", "latest"},
		{"oci missing parents", "oci:" + base + "/no/such/dir", base + "/no/such/dir", ""},
		{"oci a file is no layout dir", "oci:" + archive + ":v1", archive, "v1"},
		{"archive file", "docker-archive:" + archive, archive, ""},
		{"archive without .tar, name", "docker-archive:" + archive + ":example.com/team/app:v2", archive, "example.com/team/app:v2"},
		{"archive without .tar, bare name", "docker-archive:" + archive + ":app", archive, "app"},
		{"archive .tar: in file name", "docker-archive:" + tarColon, tarColon, ""},
		{"archive .tar: in file name, name", "docker-archive:" + tarColon + ":app:v1", tarColon, "app:v1"},
		{"archive a dir is no file", "docker-archive:" + base + "/dironly:app:v1", base + "/dironly", "app:v1"},
		{"archive missing file, name", "docker-archive:" + base + "/none.tar:app:v1", base + "/none.tar", "app:v1"},
		{"archive missing parents, name", "docker-archive:" + base + "/no/such/out.tar:app:v1", base + "/no/such/out.tar", "app:v1"},
		{"archive relative, missing", "docker-archive:out.tar:app:v1", "out.tar", "app:v1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loc, err := image.ParseLocation(tc.src, false)
			if err != nil {
				t.Fatalf("ParseLocation(%q): %v", tc.src, err)
			}
			if loc.Path != tc.wantPath || loc.Tag != tc.wantR {
				t.Errorf("ParseLocation(%q) = path %q, ref %q; want %q, %q", tc.src, loc.Path, loc.Tag, tc.wantPath, tc.wantR)
			}
		})
	}

	t.Run("relative dir with colon", func(t *testing.T) {
		t.Chdir(base)
		loc, err := image.ParseLocation("oci:with:colon/lay:"+full, false)
		if err != nil {
			t.Fatal(err)
		}
		if loc.Path != "with:colon/lay" || loc.Tag != full {
			t.Errorf("path %q, ref %q", loc.Path, loc.Tag)
		}
	})
}

func TestParseName(t *testing.T) {
	for _, tc := range []struct {
		in, want, wantErr string
	}{
		{in: "busybox", want: "docker.io/library/busybox:latest"},
		{in: "busybox:1.36", want: "docker.io/library/busybox:1.36"},
		{in: "example.com/team/app:v2", want: "example.com/team/app:v2"},
		{in: "localhost:5000/a_b/c-d.e:1.0-rc_1", want: "localhost:5000/a_b/c-d.e:1.0-rc_1"},
		{in: "UPPER:tag", wantErr: "repository"},
		{in: "a b", wantErr: "repository"},
		{in: "x:", wantErr: "tag"},
		{in: "", wantErr: "repository"},
		{in: ":tag", wantErr: "repository"},
		{in: "a/", wantErr: "path component"},
		{in: "a//b", wantErr: "path component"},
		{in: "a-:x", wantErr: "path component"},
		{in: "a:-x", wantErr: "tag"},
		{in: "a:" + strings.Repeat("t", 129), wantErr: "tag"},
		{in: "app@sha256:" + strings.Repeat("0", 64), wantErr: "image name"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := image.ParseName(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseName(%q) = %q, %v; want an error about %q", tc.in, got, err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error %q is more than one line", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseName(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

// A transport layerctl does not read, or a bare file path, says which
// transports exist instead of being taken for a registry image (and failing
// with a DNS error).
func TestParseLocationUnknownTransport(t *testing.T) {
	file := filepath.Join(t.TempDir(), "image.tar")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{
		"oci-archive:/tmp/x.tar", "containers-storage:busybox", "docker-daemon:busybox:latest",
		"dir:/tmp/x", file, "./image.tar", "../image.tar",
	} {
		_, err := image.ParseLocation(src, false)
		if err == nil || !strings.Contains(err.Error(), "docker-archive:FILE") || !strings.Contains(err.Error(), "oci:DIR") {
			t.Errorf("ParseLocation(%q): %v, want an error naming the transports", src, err)
		}
	}
	for _, ok := range []string{"busybox", "example.com/a/b:1", "docker://busybox:1.36", "localhost:5000/x"} {
		if _, err := image.ParseLocation(ok, false); err != nil {
			t.Errorf("ParseLocation(%q): %v", ok, err)
		}
	}
}
