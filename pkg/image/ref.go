package image

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

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

// ParseLocation parses "NAME[:TAG|@DIGEST]", "docker://NAME", "oci:DIR[:REF]"
// and "docker-archive:FILE[:NAME[:TAG]]". DIR and FILE may hold colons: the
// path is the longest prefix that exists (see splitExisting).
func ParseLocation(s string, insecure bool) (Location, error) {
	switch {
	case strings.HasPrefix(s, "oci:"):
		dir, ref := splitExisting(strings.TrimPrefix(s, "oci:"), fs.FileInfo.IsDir)
		if dir == "" {
			return Location{}, fmt.Errorf("%q: no layout directory", s)
		}
		return Location{Transport: OCILayout, Path: dir, Tag: ref}, nil
	case strings.HasPrefix(s, "docker-archive:"):
		file, ref := splitExisting(strings.TrimPrefix(s, "docker-archive:"), func(fi fs.FileInfo) bool { return !fi.IsDir() })
		if file == "" {
			return Location{}, fmt.Errorf("%q: no archive file", s)
		}
		return Location{Transport: DockerArchive, Path: file, Tag: ref}, nil
	}
	if err := unknownTransport(s); err != nil {
		return Location{}, err
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

// Transports lists the sources and destinations layerctl knows, for errors.
const Transports = "NAME[:TAG] or docker://NAME (a registry), oci:DIR[:REF], docker-archive:FILE[:NAME:TAG]"

// otherTransports are containers/image transports layerctl does not read:
// without this check "oci-archive:x.tar" parses as the registry image
// docker.io/library/oci-archive:x.tar and fails with a DNS error.
var otherTransports = []string{"oci-archive", "containers-storage", "docker-daemon", "dir", "tarball", "ostree", "sif"}

// unknownTransport tells, for a SRC or DEST that is no registry reference,
// what to write instead.
func unknownTransport(s string) error {
	if t, _, ok := strings.Cut(s, ":"); ok && slices.Contains(otherTransports, t) {
		return fmt.Errorf("transport %q is not supported: use %s", t+":", Transports)
	}
	if strings.HasPrefix(s, "/") || strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../") || isExisting(s) {
		return fmt.Errorf("%q is a file path, not an image reference: use %s", s, Transports)
	}
	return nil
}

// isExisting: s names a file or directory here (and has a '/', so that a
// file "busybox" in the working directory does not shadow the image).
func isExisting(s string) bool {
	if !strings.Contains(s, "/") {
		return false
	}
	_, err := os.Stat(s)
	return err == nil
}

// splitExisting splits "PATH[:REF]" where both PATH and REF may hold colons
// ("/mnt/c:/x/layout:docker.io/library/busybox:1.36"). PATH is s itself when
// that exists, else the longest prefix ending before a ':' that exists; ok
// says whether what exists is of the wanted kind (a directory for a layout,
// a file for an archive). When none does, the pull fails anyway, and the
// error should name the path the user meant (and a push creates it): PATH
// then ends at the first ':' after its last '/', that '/' being the last one
// before a ':' whose directory exists, else the last one of s.
func splitExisting(s string, ok func(fs.FileInfo) bool) (path, ref string) {
	exists := func(p string) bool {
		fi, err := os.Stat(p)
		return err == nil && ok(fi)
	}
	if exists(s) {
		return s, ""
	}
	var colons []int
	for i := range len(s) {
		if s[i] == ':' {
			colons = append(colons, i)
		}
	}
	for _, i := range slices.Backward(colons) {
		if i > 0 && exists(s[:i]) {
			return s[:i], s[i+1:]
		}
	}
	for _, i := range slices.Backward(colons) {
		slash := strings.LastIndexByte(s[:i], '/')
		parent := s[:slash+1]
		if parent == "" {
			parent = "."
		}
		if fi, err := os.Stat(parent); err == nil && fi.IsDir() {
			j := slash + 1 + strings.IndexByte(s[slash+1:], ':')
			if j > 0 {
				return s[:j], s[j+1:]
			}
		}
	}
	// Not even a parent exists (a push may create it): the first ':' after
	// the last '/'.
	slash := strings.LastIndexByte(s, '/')
	if j := strings.IndexByte(s[slash+1:], ':'); j > 0 {
		return s[:slash+1+j], s[slash+2+j:]
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

// Docker's grammar of a repository path component and of a tag
// (distribution/reference), stricter than go-containerregistry's weak
// validation, which accepts "a/" and "a:-x".
// Compiled on first use: every command pays for what runs at start.
var (
	pathComponent = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)
	})
	tagChars = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\w[\w.-]*$`) })
)

// validTag: at most 128 characters (Docker's {0,127} written as a length
// check, which compiles to far less).
func validTag(t string) bool { return len(t) <= 128 && tagChars().MatchString(t) }

// ParseName checks an image name a user gives to be recorded
// ("NAME[:TAG]", no digest) and returns its stored form (see NormalizeName).
func ParseName(s string) (string, error) {
	t, err := name.NewTag(s, name.WeakValidation)
	if err != nil {
		return "", fmt.Errorf("image name %q: %w", s, err)
	}
	for _, c := range strings.Split(t.RepositoryStr(), "/") {
		if !pathComponent().MatchString(c) {
			return "", fmt.Errorf("image name %q: invalid repository path component %q", s, c)
		}
	}
	if !validTag(t.TagStr()) {
		return "", fmt.Errorf("image name %q: invalid tag %q", s, t.TagStr())
	}
	return NormalizeName(s), nil
}

// isFullRef reports whether an OCI layout's ref.name is a whole image
// reference ("docker.io/library/busybox:1.36", as skopeo writes) rather than
// a bare tag ("1.36").
func isFullRef(ref string) bool {
	if !strings.ContainsAny(ref, "/:") {
		return false
	}
	_, err := ParseName(ref)
	return err == nil
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
