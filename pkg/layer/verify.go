package layer

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	digest "github.com/opencontainers/go-digest"
	"github.com/vbatts/tar-split/tar/storage"
	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/whiteout"
)

// Verify re-hashes a layer as a tar stream (reassembled from its diff dir and
// recorded headers) and compares the hash with its diffID. It also checks that
// the diff dir holds exactly the entries the tar made, so an extra, missing or
// changed file is reported as ErrCorrupt.
func (s *Store) Verify(chainID digest.Digest) error {
	m, err := s.Get(chainID)
	if err != nil {
		return err
	}
	split, err := s.OpenTarSplit(chainID)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	defer split.Close()
	// Read the headers once: they drive both the name check and the hash.
	raw, err := io.ReadAll(split)
	if err != nil {
		return fmt.Errorf("%w: tar headers: %v", ErrCorrupt, err)
	}
	expected, err := s.expectedNames(raw, m.Copied, m.Shadowed)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if err := compareTree(s.DiffDir(chainID), expected); err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	h := sha256.New()
	if err := Reassemble(s.DiffDir(chainID), s.shadowDir(chainID), strings.NewReader(string(raw)), h); err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if got := digest.NewDigest(digest.SHA256, h); got != m.DiffID {
		return fmt.Errorf("%w: content hashes to %s, diffID is %s", ErrCorrupt, got, m.DiffID)
	}
	return nil
}

// expectedNames lists the paths the applier made from the recorded entries:
// each name, its parents, and a whiteout's target in its native form; not
// the names of entries a later one replaced.
func (s *Store) expectedNames(raw []byte, copied []string, shadowed []int) (map[string]bool, error) {
	names := map[string]bool{}
	addWithParents := func(n string) {
		for n != "" && !names[n] {
			names[n] = true
			n, _ = splitName(n)
		}
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	for index := 0; ; {
		var e storage.Entry
		if err := dec.Decode(&e); err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		if e.Type != storage.FileType {
			continue
		}
		if index++; slices.Contains(shadowed, index-1) {
			continue
		}
		name, err := cleanName(e.GetName())
		if err != nil || name == "" {
			continue
		}
		parent, base := splitName(name)
		kind, target := whiteout.Classify(base)
		switch {
		case kind == whiteout.Meta:
			addWithParents(parent)
		case s.conv.Passthrough() || kind == whiteout.Regular:
			addWithParents(name)
		case kind == whiteout.Whiteout:
			addWithParents(joinName(parent, target))
		case kind == whiteout.Opaque:
			addWithParents(parent)
		}
	}
	for _, c := range copied {
		addWithParents(c)
	}
	return names, nil
}

// compareTree checks that dir holds exactly the expected paths.
func compareTree(dir string, expected map[string]bool) error {
	seen := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path == dir {
			return nil
		}
		rel := path[len(dir)+1:]
		if !expected[rel] {
			return fmt.Errorf("unexpected entry /%s", rel)
		}
		seen++
		return nil
	})
	if err != nil {
		return err
	}
	if seen != len(expected) {
		for name := range expected {
			var st unix.Stat_t
			if err := unix.Lstat(filepath.Join(dir, name), &st); errors.Is(err, unix.ENOENT) {
				return fmt.Errorf("missing entry /%s", name)
			}
		}
	}
	return nil
}
