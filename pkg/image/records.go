package image

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
	"time"

	digest "github.com/opencontainers/go-digest"

	"github.com/layerctl/layerctl/pkg/layer"
)

// Record is an image as the store knows it: images/<ID hex>.json.
type Record struct {
	ID                digest.Digest   `json:"id"` // the config digest
	Manifest          digest.Digest   `json:"manifest,omitempty"`
	ManifestMediaType string          `json:"manifestMediaType,omitempty"`
	DiffIDs           []digest.Digest `json:"diffIDs"`
	ChainIDs          []digest.Digest `json:"chainIDs"`
	Blobs             []layer.Blob    `json:"blobs,omitempty"` // the source's layer blobs, base first
	Size              int64           `json:"size"`
	Source            string          `json:"source,omitempty"`
	Pulled            time.Time       `json:"pulled"`
	// BaseLayers is how many of the bottom layers came from the image a
	// build started FROM (0: none, or not known, as for a pulled image).
	BaseLayers int `json:"baseLayers,omitempty"`
}

// Top is the chainID of the image's top layer ("" for an image without
// layers).
func (r Record) Top() digest.Digest {
	if len(r.ChainIDs) == 0 {
		return ""
	}
	return r.ChainIDs[len(r.ChainIDs)-1]
}

// The image records' own sentinels; each matches its layer.ErrAny*
// category through errors.Is.
var (
	ErrNotFound = layer.KindError(layer.ErrAnyNotFound)
	ErrInUse    = layer.KindError(layer.ErrAnyInUse)
)

// Images is the image record store beside a layer store.
type Images struct {
	s *layer.Store
}

// NewImages opens the image records of a store.
func NewImages(s *layer.Store) (*Images, error) {
	if err := os.MkdirAll(s.Paths().Images(), 0o700); err != nil {
		return nil, fmt.Errorf("open image records: %w", err)
	}
	return &Images{s: s}, nil
}

func (im *Images) recordPath(id digest.Digest) string { return im.s.Paths().ImageRecord(id) }

func (im *Images) refsPath() string { return im.s.Paths().ImageRefs() }

// locked runs fn under the records' lock.
func (im *Images) locked(fn func() error) error { return im.s.Locked("images", fn) }

// Get reads one record by full ID.
func (im *Images) Get(id digest.Digest) (Record, error) {
	var r Record
	if err := id.Validate(); err != nil {
		return r, fmt.Errorf("image %q: %w", id, ErrNotFound)
	}
	data, err := os.ReadFile(im.recordPath(id))
	if errors.Is(err, fs.ErrNotExist) {
		return r, fmt.Errorf("image %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return r, err
	}
	return r, json.Unmarshal(data, &r)
}

// List returns every record, newest pull first.
func (im *Images) List() ([]Record, error) {
	entries, err := os.ReadDir(im.s.Paths().Images())
	if err != nil {
		return nil, err
	}
	var out []Record
	for _, e := range entries {
		hex, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.Name() == "refs.json" {
			continue
		}
		r, err := im.Get(digest.NewDigestFromEncoded(digest.SHA256, hex))
		if err != nil {
			continue
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Pulled.After(out[j].Pulled) })
	return out, nil
}

// Refs returns the name -> image ID map.
func (im *Images) Refs() (map[string]digest.Digest, error) {
	refs := map[string]digest.Digest{}
	data, err := os.ReadFile(im.refsPath())
	if errors.Is(err, fs.ErrNotExist) {
		return refs, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &refs); err != nil {
		return nil, fmt.Errorf("read %s: %w", im.refsPath(), err)
	}
	return refs, nil
}

// Names lists the stored names of an image, sorted.
func (im *Images) Names(id digest.Digest) ([]string, error) {
	refs, err := im.Refs()
	if err != nil {
		return nil, err
	}
	return namesOf(refs, id), nil
}

func (im *Images) writeRefs(refs map[string]digest.Digest) error {
	data, _ := json.MarshalIndent(refs, "", "  ")
	return layer.WriteFileAtomic(im.refsPath(), data)
}

// Put publishes a record and points name (if any) at it. Every layer of the
// record must already be in the store.
func (im *Images) Put(r Record, name string) error {
	return im.locked(func() error {
		data, _ := json.MarshalIndent(r, "", "  ")
		if err := layer.WriteFileAtomic(im.recordPath(r.ID), data); err != nil {
			return fmt.Errorf("write image record: %w", err)
		}
		if name == "" {
			return nil
		}
		refs, err := im.Refs()
		if err != nil {
			return err
		}
		refs[name] = r.ID
		return im.writeRefs(refs)
	})
}

// Resolve finds an image by full ID, unique ID prefix (with or without
// "sha256:") or name (":latest" when no tag).
func (im *Images) Resolve(s string) (Record, error) {
	refs, err := im.Refs()
	if err != nil {
		return Record{}, err
	}
	if id, ok := refs[NormalizeName(s)]; ok {
		return im.Get(id)
	}
	if id, ok := refs[s]; ok {
		return im.Get(id)
	}
	prefix := strings.TrimPrefix(s, "sha256:")
	if len(prefix) == 0 || strings.Trim(prefix, "0123456789abcdef") != "" {
		return Record{}, fmt.Errorf("image %s: %w", lookedFor(s), ErrNotFound)
	}
	all, err := im.List()
	if err != nil {
		return Record{}, err
	}
	var found []Record
	for _, r := range all {
		if strings.HasPrefix(r.ID.Encoded(), prefix) {
			found = append(found, r)
		}
	}
	switch len(found) {
	case 0:
		return Record{}, fmt.Errorf("image %s: %w", s, ErrNotFound)
	case 1:
		return found[0], nil
	}
	return Record{}, fmt.Errorf("image ID prefix %s is ambiguous (%d images)", s, len(found))
}

// lookedFor names what Resolve looked for: "busybox (looked for
// busybox:latest)" when the name it was given is short for another.
func lookedFor(s string) string {
	if full := ShortName(NormalizeName(s)); full != s && full != "" {
		return fmt.Sprintf("%s (looked for %s)", s, full)
	}
	return s
}

// Remove deletes the image that s names. When s is a name of an image that
// has other names, only that name goes (as docker rmi does, with or without
// force); force removes an image named by ID whatever names it has.
// removedID is "" when only a name went.
func (im *Images) Remove(s string, force bool) (removedID digest.Digest, untagged []string, err error) {
	r, err := im.Resolve(s)
	if err != nil {
		return "", nil, err
	}
	if n, err := im.UntagShared(s); err != nil || n != "" {
		return "", []string{n}, err
	}
	err = im.locked(func() error {
		refs, err := im.Refs()
		if err != nil {
			return err
		}
		names := namesOf(refs, r.ID)
		if len(names) > 1 && !force {
			return fmt.Errorf("image %s has several names (%s): remove them by name or use -f", r.ID, strings.Join(names, ", "))
		}
		for _, n := range names {
			delete(refs, n)
		}
		untagged = names
		if err := im.writeRefs(refs); err != nil {
			return err
		}
		removedID = r.ID
		return os.Remove(im.recordPath(r.ID))
	})
	return removedID, untagged, err
}

// UntagShared takes the name s off its image when that image has other
// names too, and returns the name in its stored form ("" when s is no
// name or the image's last one). As docker rmi: one of several names goes
// alone, whatever uses the image.
func (im *Images) UntagShared(s string) (string, error) {
	var untagged string
	err := im.locked(func() error {
		refs, err := im.Refs()
		if err != nil {
			return err
		}
		name := NormalizeName(s)
		id, ok := refs[name]
		if !ok || len(namesOf(refs, id)) < 2 {
			return nil
		}
		delete(refs, name)
		untagged = name
		return im.writeRefs(refs)
	})
	return untagged, err
}

// Tag points the name newName (NAME[:TAG], moved if it named another
// image) at the image src resolves to, and returns the name's stored form.
func (im *Images) Tag(src, newName string) (string, error) {
	r, err := im.Resolve(src)
	if err != nil {
		return "", err
	}
	name, err := ParseName(newName)
	if err != nil {
		return "", err
	}
	return name, im.locked(func() error {
		if _, err := im.Get(r.ID); err != nil { // removed meanwhile
			return err
		}
		refs, err := im.Refs()
		if err != nil {
			return err
		}
		refs[name] = r.ID
		return im.writeRefs(refs)
	})
}

// namesOf lists the names refs gives the image id, sorted.
func namesOf(refs map[string]digest.Digest, id digest.Digest) []string {
	var names []string
	for n, to := range refs {
		if to == id {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// UntagAll removes every name of the image id and keeps its record: an
// image a container still uses stays, nameless, as Docker's dangling
// images do.
func (im *Images) UntagAll(id digest.Digest) ([]string, error) {
	var untagged []string
	err := im.locked(func() error {
		refs, err := im.Refs()
		if err != nil {
			return err
		}
		for n, rid := range refs {
			if rid == id {
				delete(refs, n)
				untagged = append(untagged, n)
			}
		}
		return im.writeRefs(refs)
	})
	sort.Strings(untagged)
	return untagged, err
}
