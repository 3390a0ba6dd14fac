package image

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	digest "github.com/opencontainers/go-digest"
)

// source is one image, opened from any transport, with what a pull needs.
type source struct {
	img          v1.Image
	manifest     []byte // raw manifest; nil for docker-archive (it has none)
	manifestType string
	config       []byte
	layers       []v1.Descriptor // compressed blobs from the manifest; nil for docker-archive
	refName      string          // OCI layout: the chosen entry's org.opencontainers.image.ref.name

	// fetch, when set, opens a compressed blob with the given context (a
	// registry's, so that a failed pull cancels the other downloads); else
	// the blob comes from img.
	fetch func(ctx context.Context, h v1.Hash) (io.ReadCloser, error)
}

// DefaultPlatform is this machine's platform. It names no variant: a wanted
// variant must equal an index entry's, and arm64 entries are written both
// with "v8" and without a variant; wanting none matches either.
func DefaultPlatform() v1.Platform {
	return v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
}

// ParsePlatform parses OS/ARCH[/VARIANT].
func ParsePlatform(s string) (v1.Platform, error) {
	p, err := v1.ParsePlatform(s)
	if err != nil || p.OS == "" || p.Architecture == "" {
		return v1.Platform{}, fmt.Errorf("platform %q: want OS/ARCH[/VARIANT]", s)
	}
	return *p, nil
}

func remoteOptions(ctx context.Context, loc Location, opts PullOptions) []remote.Option {
	tr := remote.DefaultTransport.(*http.Transport).Clone()
	if opts.Insecure {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(authn.DefaultKeychain),
		remote.WithPlatform(opts.Platform),
		remote.WithTransport(tr),
		remote.WithJobs(4),
	}
}

// openSource resolves a location to one image for the wanted platform.
// A config already in the store (known is asked by digest) is not fetched
// again, which keeps a warm pull to one manifest request.
func openSource(ctx context.Context, loc Location, opts PullOptions, known func(digest.Digest) []byte) (*source, error) {
	var (
		img     v1.Image
		want    digest.Digest // the manifest's digest as the layout's index says; "" unknown
		refName string
		fetch   func(context.Context, v1.Hash) (io.ReadCloser, error)
	)
	switch loc.Transport {
	case Registry:
		// One puller: the manifest requests use ctx, each blob request the
		// context its layer is fetched with (the pull's errgroup), while the
		// registry connection and token are shared.
		puller, err := remote.NewPuller(remoteOptions(ctx, loc, opts)...)
		if err != nil {
			return nil, fmt.Errorf("fetch manifest of %s: %w", loc.Ref, err)
		}
		fetch = func(ctx context.Context, h v1.Hash) (io.ReadCloser, error) {
			l, err := puller.Layer(ctx, loc.Ref.Context().Digest(h.String()))
			if err != nil {
				return nil, err
			}
			return l.Compressed()
		}
		desc, err := puller.Get(ctx, loc.Ref)
		if err != nil {
			return nil, fmt.Errorf("fetch manifest of %s: %w", loc.Ref, err)
		}
		if desc.MediaType.IsIndex() {
			img, err = desc.Image() // picks the platform given in the options
			if err != nil {
				return nil, fmt.Errorf("choose %s from %s: %w", platformString(opts.Platform), loc.Ref, err)
			}
		} else if img, err = desc.Image(); err != nil {
			return nil, fmt.Errorf("read %s: %w", loc.Ref, err)
		}
	case OCILayout:
		var err error
		if img, want, refName, err = openLayout(loc, opts.Platform); err != nil {
			return nil, err
		}
	case DockerArchive:
		return openArchive(loc)
	default:
		return nil, fmt.Errorf("unknown transport %q", loc.Transport)
	}
	src, err := describe(img, want, known)
	if err != nil {
		return nil, err
	}
	src.refName, src.fetch = refName, fetch
	return src, nil
}

// describe reads the manifest and config of an image that has a manifest,
// checking the manifest against want (when known) and the config against
// the manifest's digest.
func describe(img v1.Image, want digest.Digest, known func(digest.Digest) []byte) (*source, error) {
	raw, err := img.RawManifest()
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	if want != "" {
		if err := checkContent("manifest", want, raw); err != nil {
			return nil, err
		}
	}
	m, err := v1.ParseManifest(strings.NewReader(string(raw)))
	if err != nil {
		return nil, fmt.Errorf("parse manifest: %w", err)
	}
	mt, _ := img.MediaType()
	config := known(digest.Digest(m.Config.Digest.String()))
	if config == nil {
		if config, err = img.RawConfigFile(); err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
	}
	if got := digest.FromBytes(config); got.String() != m.Config.Digest.String() {
		return nil, fmt.Errorf("config has digest %s, the manifest says %s", got, m.Config.Digest)
	}
	return &source{img: img, manifest: raw, manifestType: string(mt), config: config, layers: m.Layers}, nil
}

// refNameAnnotation names an image in an OCI layout's index.json.
const refNameAnnotation = "org.opencontainers.image.ref.name"

// errNoPlatform: an index has no image for the wanted platform.
var errNoPlatform = errors.New("no image for platform")

// openLayout picks the image loc names from an OCI layout: the index.json
// entry whose ref.name equals loc.Tag exactly, or with no tag the only
// entry or the one named "latest". It returns the image, the digest its
// manifest must have (index.json's word for it) and the entry's ref.name.
func openLayout(loc Location, want v1.Platform) (v1.Image, digest.Digest, string, error) {
	p, err := layout.FromPath(loc.Path)
	if err != nil {
		return nil, "", "", fmt.Errorf("open OCI layout %s: %w", loc.Path, err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return nil, "", "", fmt.Errorf("open OCI layout %s: %w", loc.Path, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, "", "", fmt.Errorf("read %s/index.json: %w", loc.Path, err)
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
			return nil, "", "", fmt.Errorf("OCI layout %s holds %d images: name one as oci:DIR:TAG", loc.Path, len(im.Manifests))
		}
		return nil, "", "", fmt.Errorf("OCI layout %s has no image tagged %q", loc.Path, loc.Tag)
	}
	img, d, err := pickFromDescriptors(idx, match, want)
	if err != nil {
		return nil, "", "", fmt.Errorf("OCI layout %s: %w", loc.Path, err)
	}
	return img, digest.Digest(d.Digest.String()), match[0].Annotations[refNameAnnotation], nil
}

// pickFromDescriptors turns matching index entries into one image and its
// descriptor: a nested index is searched for the platform (after its bytes
// are checked against the entry's digest), and several image entries are
// told apart by their platform fields.
func pickFromDescriptors(idx v1.ImageIndex, descs []v1.Descriptor, want v1.Platform) (v1.Image, v1.Descriptor, error) {
	var images []v1.Descriptor
	for _, d := range descs {
		if d.MediaType.IsIndex() {
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, v1.Descriptor{}, fmt.Errorf("read index %s: %w", d.Digest, err)
			}
			raw, err := child.RawManifest()
			if err != nil {
				return nil, v1.Descriptor{}, fmt.Errorf("read index %s: %w", d.Digest, err)
			}
			if err := checkContent("index", digest.Digest(d.Digest.String()), raw); err != nil {
				return nil, v1.Descriptor{}, err
			}
			cm, err := v1.ParseIndexManifest(bytes.NewReader(raw))
			if err != nil {
				return nil, v1.Descriptor{}, fmt.Errorf("read index %s: %w", d.Digest, err)
			}
			img, desc, err := pickFromDescriptors(child, cm.Manifests, want)
			if err == nil {
				return img, desc, nil
			}
			if !errors.Is(err, errNoPlatform) {
				return nil, v1.Descriptor{}, err
			}
			continue
		}
		if d.Platform == nil || d.Platform.Satisfies(want) {
			images = append(images, d)
		}
	}
	if len(images) == 0 {
		return nil, v1.Descriptor{}, fmt.Errorf("%w %s", errNoPlatform, platformString(want))
	}
	img, err := idx.Image(images[0].Digest)
	if err != nil {
		return nil, v1.Descriptor{}, fmt.Errorf("read manifest %s: %w", images[0].Digest, err)
	}
	return img, images[0], nil
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

// openArchive reads a "docker save" archive. Its layers are plain tars (or
// compressed ones), named by diffID in the config; there is no registry
// manifest to keep.
func openArchive(loc Location) (*source, error) {
	if _, err := os.Stat(loc.Path); err != nil {
		return nil, fmt.Errorf("open docker archive: %w", err)
	}
	var tag *name.Tag
	if loc.Tag != "" {
		t, err := name.NewTag(loc.Tag, name.WeakValidation)
		if err != nil {
			return nil, fmt.Errorf("docker archive image %q: %w", loc.Tag, err)
		}
		tag = &t
	}
	img, err := tarball.ImageFromPath(loc.Path, tag)
	if err != nil {
		return nil, fmt.Errorf("open docker archive %s: %w", loc.Path, err)
	}
	config, err := img.RawConfigFile()
	if err != nil {
		return nil, fmt.Errorf("read config from %s: %w", loc.Path, err)
	}
	return &source{img: img, config: config}, nil
}

// archiveName is the first RepoTags entry of the archive's (only) image,
// the name a pull records when none is given.
func archiveName(loc Location) string {
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(loc.Path) })
	if err != nil || len(m) != 1 || len(m[0].RepoTags) == 0 {
		return ""
	}
	return NormalizeName(m[0].RepoTags[0])
}

// parseConfig reads the diffIDs an image config lists.
func parseConfig(raw []byte) (*v1.ConfigFile, []digest.Digest, error) {
	var cf v1.ConfigFile
	if err := json.Unmarshal(raw, &cf); err != nil {
		return nil, nil, fmt.Errorf("parse image config: %w", err)
	}
	ids := make([]digest.Digest, len(cf.RootFS.DiffIDs))
	for i, h := range cf.RootFS.DiffIDs {
		ids[i] = digest.Digest(h.String())
		if err := ids[i].Validate(); err != nil {
			return nil, nil, fmt.Errorf("image config diff_ids[%d]: %w", i, err)
		}
	}
	return &cf, ids, nil
}
