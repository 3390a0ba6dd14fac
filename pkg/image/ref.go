package image

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Transport kinds of a pull source or push destination.
const (
	Registry      = "docker"
	OCILayout     = "oci"
	DockerArchive = "docker-archive"
)

// Location is a parsed SRC or DEST.
type Location struct {
	Transport string
	Ref       name.Reference // Registry
	Path      string         // OCILayout, DockerArchive
	Tag       string         // OCILayout: the ref.name; DockerArchive: NAME:TAG in the archive
}

// ParseLocation parses "NAME[:TAG|@DIGEST]", "docker://NAME", "oci:DIR[:TAG]"
// and "docker-archive:FILE[:NAME:TAG]".
func ParseLocation(s string, insecure bool) (Location, error) {
	switch {
	case strings.HasPrefix(s, "oci:"):
		dir, tag := splitPathTag(strings.TrimPrefix(s, "oci:"))
		if dir == "" {
			return Location{}, fmt.Errorf("%q: no layout directory", s)
		}
		return Location{Transport: OCILayout, Path: dir, Tag: tag}, nil
	case strings.HasPrefix(s, "docker-archive:"):
		rest := strings.TrimPrefix(s, "docker-archive:")
		file, ref := rest, ""
		if i := strings.Index(rest, ".tar:"); i >= 0 {
			file, ref = rest[:i+4], rest[i+5:]
		}
		if file == "" {
			return Location{}, fmt.Errorf("%q: no archive file", s)
		}
		return Location{Transport: DockerArchive, Path: file, Tag: ref}, nil
	}
	s = strings.TrimPrefix(s, "docker://")
	var opts []name.Option
	if insecure {
		opts = append(opts, name.Insecure)
	}
	ref, err := name.ParseReference(s, opts...)
	if err != nil {
		return Location{}, fmt.Errorf("parse reference %q: %w", s, err)
	}
	return Location{Transport: Registry, Ref: ref}, nil
}

// splitPathTag splits "DIR:TAG"; a colon inside the directory part (before
// the last slash) is part of the path.
func splitPathTag(s string) (dir, tag string) {
	slash := strings.LastIndexByte(s, '/')
	if i := strings.LastIndexByte(s, ':'); i > slash {
		return s[:i], s[i+1:]
	}
	return s, ""
}

// DefaultName is the name a pull records when none is given.
func (l Location) DefaultName() string {
	switch l.Transport {
	case Registry:
		if _, ok := l.Ref.(name.Tag); ok {
			return NormalizeName(l.Ref.String())
		}
		return ""
	case OCILayout:
		tag := l.Tag
		if tag == "" {
			tag = "latest"
		}
		// A ref.name may be a full reference ("example.com/app:1") or a tag.
		if strings.ContainsAny(tag, "/:") {
			return NormalizeName(tag)
		}
		return NormalizeName(filepath.Base(filepath.Clean(l.Path)) + ":" + tag)
	case DockerArchive:
		if l.Tag != "" {
			return NormalizeName(l.Tag)
		}
	}
	return ""
}

// NormalizeName turns a user's image name into the stored form,
// "registry/repository:tag", with Docker's defaults (docker.io, library/,
// latest). An invalid name comes back unchanged (and matches nothing).
func NormalizeName(s string) string {
	t, err := name.NewTag(s, name.WeakValidation)
	if err != nil {
		return s
	}
	reg := t.RegistryStr()
	if reg == name.DefaultRegistry {
		reg = "docker.io"
	}
	return reg + "/" + t.RepositoryStr() + ":" + t.TagStr()
}

// ShortName is how a stored name is shown: without docker.io/library/.
func ShortName(stored string) string {
	s := strings.TrimPrefix(stored, "docker.io/")
	return strings.TrimPrefix(s, "library/")
}

// SplitName splits a stored name into repository and tag for display.
func SplitName(stored string) (repo, tag string) {
	s := ShortName(stored)
	if i := strings.LastIndexByte(s, ':'); i > strings.LastIndexByte(s, '/') {
		return s[:i], s[i+1:]
	}
	return s, ""
}
