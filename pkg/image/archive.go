package image

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// checkArchiveSizes refuses a "docker save" archive whose manifest.json, or
// the config of the image tag names, is larger than maxSmallBlob:
// go-containerregistry reads both whole. A tar entry never yields more than
// its header's size, so the headers are enough. Names resolve as
// go-containerregistry resolves them: the first entry of that name, links
// followed.
func checkArchiveSizes(file string, tag *name.Tag) error {
	if err := checkEntrySize(file, "manifest.json", "manifest.json"); err != nil {
		return err
	}
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(file) })
	if err != nil {
		return nil // go-containerregistry says what is wrong
	}
	for _, d := range m {
		if tag == nil && len(m) == 1 || tag != nil && hasTag(d, *tag) {
			return checkEntrySize(file, "config "+d.Config, d.Config)
		}
	}
	return nil
}

func hasTag(d tarball.Descriptor, want name.Tag) bool {
	for _, s := range d.RepoTags {
		if t, err := name.NewTag(s); err == nil && t.Name() == want.Name() {
			return true
		}
	}
	return false
}

// checkEntrySize fails when the entry name (what, in errors) resolves to
// more than maxSmallBlob bytes.
func checkEntrySize(file, what, name string) error {
	visited := map[string]bool{}
	for {
		if visited[name] {
			return nil // a link cycle: go-containerregistry says so
		}
		visited[name] = true
		hdr, err := findEntry(file, name)
		if err != nil || hdr == nil {
			return err
		}
		if hdr.Typeflag != tar.TypeSymlink && hdr.Typeflag != tar.TypeLink {
			if hdr.Size > maxSmallBlob {
				return fmt.Errorf("%s in %s: %d bytes: %w", what, file, hdr.Size, errTooLarge)
			}
			return nil
		}
		name = path.Join(path.Dir(name), path.Clean(hdr.Linkname))
	}
}

// findEntry returns the header of the first entry called name, or nil.
func findEntry(file, name string) (*tar.Header, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("open docker archive: %w", err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		if err != nil {
			return nil, nil // not a tar: go-containerregistry says so
		}
		if path.Clean(hdr.Name) == path.Clean(name) {
			return hdr, nil
		}
	}
}
