package image

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	digest "github.com/opencontainers/go-digest"

	"github.com/layerctl/layerctl/pkg/layer"
)

// Save writes images into one docker-archive file (docker save's format,
// which docker load and skopeo read). An image given by name is saved
// under that name; by ID, under all its names. The file appears whole or
// not at all.
func Save(ctx context.Context, s *layer.Store, im *Images, refs []string, file string, opts PushOptions) error {
	tmp, err := s.TempDir("save-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	stored, err := im.Refs()
	if err != nil {
		return err
	}
	byID := map[digest.Digest]v1.Image{}
	entries := map[name.Reference]v1.Image{}
	for _, ref := range refs {
		rec, err := im.Resolve(ref)
		if err != nil {
			return err
		}
		img, ok := byID[rec.ID]
		if !ok {
			if img, err = exportImage(ctx, s, rec, tmp, opts); err != nil {
				return fmt.Errorf("image %s: %w", ref, err)
			}
			byID[rec.ID] = img
		}
		names := []string{NormalizeName(ref)}
		if stored[names[0]] != rec.ID {
			if names, err = im.Names(rec.ID); err != nil {
				return err
			}
		}
		for _, n := range names {
			t, err := name.NewTag(ShortName(n), name.WeakValidation)
			if err != nil {
				return fmt.Errorf("image name %s: %w", n, err)
			}
			entries[t] = img
		}
		if len(names) == 0 {
			// No name: an entry without RepoTags (a digest reference
			// only keys it).
			d, err := name.NewDigest("untagged@" + rec.ID.String())
			if err != nil {
				return err
			}
			entries[d] = img
		}
	}
	part := file + ".part"
	if err := tarball.MultiRefWriteToFile(part, entries); err != nil {
		os.Remove(part)
		return fmt.Errorf("write %s: %w", file, err)
	}
	return os.Rename(part, file)
}

// ArchiveNames lists the names (RepoTags) of each image in a docker
// archive, in its order; an image without a name has none.
func ArchiveNames(file string) ([][]string, error) {
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(file) })
	if err != nil {
		return nil, fmt.Errorf("read docker archive %s: %w", file, err)
	}
	out := make([][]string, len(m))
	for i, d := range m {
		out[i] = d.RepoTags
	}
	return out, nil
}

// errSeveralImages is a docker archive of several images pulled without
// saying which: it says which names it holds.
func errSeveralImages(file string, names [][]string) error {
	var all []string
	for _, ns := range names {
		all = append(all, ns...)
	}
	return fmt.Errorf("docker archive %s holds %d images: name one (docker-archive:%s:NAME:TAG) of %s, or load them all (layerctl load -i %s)",
		file, len(names), file, strings.Join(all, ", "), file)
}
