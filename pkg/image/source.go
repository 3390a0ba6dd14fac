package image

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
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
	// fetchVerifies: fetch's blobs check their own digest (a registry's,
	// through go-containerregistry), so the pull checks only their size.
	fetchVerifies bool
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
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(authn.DefaultKeychain),
		remote.WithPlatform(opts.Platform),
		remote.WithTransport(newRegistryTransport(opts.Insecure, opts.Timeouts)),
		remote.WithJobs(4),
	}
}

// openSource resolves a location to one image for the wanted platform.
// A config already in the store (known is asked by digest) is not fetched
// again, which keeps a warm pull to one manifest request.
func openSource(ctx context.Context, loc Location, opts PullOptions, known func(digest.Digest) []byte) (*source, error) {
	switch loc.Transport {
	case Registry:
		return openRegistry(ctx, loc, opts, known)
	case OCILayout:
		return openLayout(loc, opts.Platform, known)
	case DockerArchive:
		return openArchive(loc)
	}
	return nil, fmt.Errorf("unknown transport %q", loc.Transport)
}

func openRegistry(ctx context.Context, loc Location, opts PullOptions, known func(digest.Digest) []byte) (*source, error) {
	// One puller: the manifest requests use ctx, each blob request the
	// context its layer is fetched with (the pull's errgroup), while the
	// registry connection and token are shared. The transport caps what
	// a manifest or index may send.
	puller, err := remote.NewPuller(remoteOptions(ctx, loc, opts)...)
	if err != nil {
		return nil, fmt.Errorf("fetch manifest of %s: %w", loc.Ref, oneLine(err))
	}
	fetch := func(ctx context.Context, h v1.Hash) (io.ReadCloser, error) {
		l, err := puller.Layer(ctx, loc.Ref.Context().Digest(h.String()))
		if err != nil {
			return nil, oneLine(err)
		}
		rc, err := l.Compressed()
		return rc, oneLine(err)
	}
	desc, err := puller.Get(ctx, loc.Ref)
	if err != nil {
		return nil, fmt.Errorf("fetch manifest of %s: %w", loc.Ref, oneLine(err))
	}
	img, err := desc.Image() // an index: picks the platform given in the options
	if err = oneLine(err); err != nil {
		if desc.MediaType.IsIndex() {
			return nil, fmt.Errorf("choose %s from %s: %w", platformString(opts.Platform), loc.Ref, err)
		}
		return nil, fmt.Errorf("read %s: %w", loc.Ref, err)
	}
	raw, err := img.RawManifest()
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	mt, _ := img.MediaType()
	src, err := describe(raw, mt, known, func(d v1.Descriptor) ([]byte, error) {
		rc, err := fetch(ctx, d.Digest)
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		return readSmall(rc)
	})
	if err != nil {
		return nil, err
	}
	src.fetch, src.fetchVerifies = fetch, true
	return src, nil
}

// describe parses the manifest raw and reads the config it names, which
// readConfig fetches unless the store knows it; the config is checked
// against the manifest's digest.
func describe(raw []byte, mt types.MediaType, known func(digest.Digest) []byte, readConfig func(v1.Descriptor) ([]byte, error)) (*source, error) {
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parse manifest: %w", err)
	}
	config := known(digest.Digest(m.Config.Digest.String()))
	switch {
	case config != nil:
	case m.Config.Size > maxSmallBlob:
		return nil, fmt.Errorf("config %s: claims %d bytes: %w", m.Config.Digest, m.Config.Size, errTooLarge)
	case len(m.Config.Data) > 0:
		config = m.Config.Data // embedded (image-spec descriptor.md)
	default:
		if config, err = readConfig(m.Config); err != nil {
			return nil, fmt.Errorf("read config %s: %w", m.Config.Digest, err)
		}
	}
	if got := digest.FromBytes(config); got.String() != m.Config.Digest.String() {
		return nil, fmt.Errorf("config has digest %s, the manifest says %s", got, m.Config.Digest)
	}
	return &source{manifest: raw, manifestType: string(mt), config: config, layers: m.Layers}, nil
}

// openArchive reads a "docker save" archive. Its layers are plain tars (or
// compressed ones), named by diffID in the config; there is no registry
// manifest to keep.
func openArchive(loc Location) (*source, error) {
	fi, err := os.Stat(loc.Path)
	if err != nil {
		return nil, fmt.Errorf("open docker archive: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("open docker archive %s: not a regular file", loc.Path)
	}
	var tag *name.Tag
	if loc.Tag == "" {
		if names, err := ArchiveNames(loc.Path); err == nil && len(names) > 1 {
			return nil, errSeveralImages(loc.Path, names)
		}
	}
	if loc.Tag != "" {
		t, err := name.NewTag(loc.Tag, name.WeakValidation)
		if err != nil {
			return nil, fmt.Errorf("docker archive image %q: %w", loc.Tag, err)
		}
		tag = &t
	}
	if err := checkArchiveSizes(loc.Path, tag); err != nil {
		return nil, err
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
