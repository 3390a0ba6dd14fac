package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

// refNameAnnotation names an image in an OCI layout's index.json.
const refNameAnnotation = "org.opencontainers.image.ref.name"

// errNoPlatform: an index has no image for the wanted platform.
var errNoPlatform = errors.New("no image for platform")

// ociLayout reads an OCI image layout (image-layout.md). index.json,
// indexes, manifests and configs are read whole, so none may be larger than
// maxSmallBlob, whatever its descriptor or the file says; every blob is a
// regular file (never a symlink or a FIFO) named by a valid digest.
type ociLayout struct{ dir string }

// openFile opens a regular file without waiting (a FIFO would block an
// open for reading until a writer comes).
func openFile(path string, flags int) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC|flags, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	return f, nil
}

// blob opens a blob of the layout.
func (l ociLayout) blob(h v1.Hash) (*os.File, error) {
	path := filepath.Join(l.dir, "blobs", h.Algorithm, h.Hex)
	f, err := openFile(path, unix.O_NOFOLLOW)
	if errors.Is(err, unix.ELOOP) {
		return nil, fmt.Errorf("layout blob %s is a symlink", h)
	}
	return f, err
}

// small reads the small blob d describes (what: a manifest, an index, a
// config) and checks it against d's digest.
func (l ociLayout) small(what string, d v1.Descriptor) ([]byte, error) {
	if d.Size > maxSmallBlob {
		return nil, fmt.Errorf("claims %d bytes: %w", d.Size, errTooLarge)
	}
	f, err := l.blob(d.Digest)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := readSmall(f)
	if err != nil {
		return nil, err
	}
	if err := checkContent(what, digest.Digest(d.Digest.String()), b); err != nil {
		return nil, err
	}
	return b, nil
}

func (l ociLayout) index() (*v1.IndexManifest, error) {
	path := filepath.Join(l.dir, "index.json")
	f, err := openFile(path, 0)
	if err != nil {
		return nil, fmt.Errorf("open OCI layout %s: %w", l.dir, err)
	}
	defer f.Close()
	raw, err := readSmall(f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return im, nil
}

// openLayout picks the image loc names from an OCI layout: the index.json
// entry whose ref.name equals loc.Tag exactly, or with no tag the only
// entry or the one named "latest". Its manifest must have the digest
// index.json gives; the source remembers the entry's ref.name.
func openLayout(loc Location, want v1.Platform, known func(digest.Digest) []byte) (*source, error) {
	l := ociLayout{loc.Path}
	im, err := l.index()
	if err != nil {
		return nil, err
	}
	var match []v1.Descriptor
	for _, d := range im.Manifests {
		ref := d.Annotations[refNameAnnotation]
		if loc.Tag == "" && (len(im.Manifests) == 1 || ref == "latest") || loc.Tag != "" && ref == loc.Tag {
			match = append(match, d)
		}
	}
	if len(match) == 0 {
		if loc.Tag == "" {
			return nil, fmt.Errorf("OCI layout %s holds %d images: name one as oci:DIR:TAG", loc.Path, len(im.Manifests))
		}
		return nil, fmt.Errorf("OCI layout %s has no image tagged %q", loc.Path, loc.Tag)
	}
	d, err := l.pick(match, want)
	if err != nil {
		return nil, fmt.Errorf("OCI layout %s: %w", loc.Path, err)
	}
	raw, err := l.small("manifest", d)
	if err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", d.Digest, err)
	}
	src, err := describe(raw, d.MediaType, known, func(c v1.Descriptor) ([]byte, error) {
		return l.small("config", c)
	})
	if err != nil {
		return nil, err
	}
	src.refName = match[0].Annotations[refNameAnnotation]
	src.fetch = func(_ context.Context, h v1.Hash) (io.ReadCloser, error) { return l.blob(h) }
	return src, nil
}

// pick turns matching index entries into one image manifest's descriptor:
// a nested index is searched for the platform (after its bytes are checked
// against the entry's digest), and several image entries are told apart by
// their platform fields.
func (l ociLayout) pick(descs []v1.Descriptor, want v1.Platform) (v1.Descriptor, error) {
	var images []v1.Descriptor
	for _, d := range descs {
		if d.MediaType.IsIndex() {
			raw, err := l.small("index", d)
			if err != nil {
				return v1.Descriptor{}, fmt.Errorf("read index %s: %w", d.Digest, err)
			}
			cm, err := v1.ParseIndexManifest(bytes.NewReader(raw))
			if err != nil {
				return v1.Descriptor{}, fmt.Errorf("read index %s: %w", d.Digest, err)
			}
			desc, err := l.pick(cm.Manifests, want)
			if err == nil {
				return desc, nil
			}
			if !errors.Is(err, errNoPlatform) {
				return v1.Descriptor{}, err
			}
			continue
		}
		if d.Platform == nil || d.Platform.Satisfies(want) {
			images = append(images, d)
		}
	}
	if len(images) == 0 {
		return v1.Descriptor{}, fmt.Errorf("%w %s", errNoPlatform, platformString(want))
	}
	if mt := images[0].MediaType; mt != types.OCIManifestSchema1 && mt != types.DockerManifestSchema2 {
		return v1.Descriptor{}, fmt.Errorf("read manifest %s: unexpected media type %s", images[0].Digest, mt)
	}
	return images[0], nil
}

// checkContent checks the bytes of a manifest or index against the digest
// the index that lists it gives (image-layout.md: blobs are addressed by
// content, and a reader must verify them).
func checkContent(what string, want digest.Digest, raw []byte) error {
	if err := want.Validate(); err != nil {
		return fmt.Errorf("%s digest %q: %w", what, want, err)
	}
	if got := want.Algorithm().FromBytes(raw); got != want {
		return fmt.Errorf("%s has digest %s, the index says %s", what, got, want)
	}
	return nil
}

func platformString(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}
