package image

import (
	"bytes"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	digest "github.com/opencontainers/go-digest"

	"github.com/layerctl/layerctl/pkg/layer"
)

// CommitOptions describe the image a commit makes.
type CommitOptions struct {
	Name      string    // stored name ("" for none), already checked with ParseName
	Author    string    // config author and history author
	Comment   string    // history comment (commit -m)
	CreatedBy string    // history created_by
	Created   time.Time // config and history time
	Changes   []string  // Dockerfile-style instructions (see ApplyChange)
	Source    string    // the record's source: "" for "commit"

	// ParseSignal checks a STOPSIGNAL change (pkg/container passes
	// ns.ParseSignal).
	ParseSignal SignalParser
}

// CheckChanges validates --change lines before any work is done.
func CheckChanges(changes []string, parseSignal SignalParser) error {
	var cfg v1.Config
	for _, c := range changes {
		if err := ApplyChange(&cfg, c, parseSignal); err != nil {
			return err
		}
	}
	return nil
}

// Commit records a new image: the parent's config (none for an image from
// scratch) with the layer m appended to its rootfs, a history entry and the
// changes applied. The layer must be in the store.
func Commit(s *layer.Store, im *Images, parent *Record, m layer.Meta, opts CommitOptions) (Record, error) {
	cfg := &v1.ConfigFile{OS: runtime.GOOS, Architecture: runtime.GOARCH, RootFS: v1.RootFS{Type: "layers"}}
	var rec Record
	var parentTop digest.Digest
	if parent != nil {
		parentTop = parent.Top()
		raw, err := s.Blob(parent.ID)
		if err != nil {
			return Record{}, fmt.Errorf("parent image config: %w", err)
		}
		if cfg, err = v1.ParseConfigFile(bytes.NewReader(raw)); err != nil {
			return Record{}, fmt.Errorf("parent image config: %w", err)
		}
		rec.DiffIDs = append(rec.DiffIDs, parent.DiffIDs...)
		rec.Size = parent.Size
	}
	if m.Parent != parentTop {
		return Record{}, fmt.Errorf("layer %s is not over the image's top layer", m.ChainID)
	}
	setsCmd, setsEntrypoint := false, false
	for _, c := range opts.Changes {
		if err := ApplyChange(&cfg.Config, c, opts.ParseSignal); err != nil {
			return Record{}, err
		}
		instr, _, _ := strings.Cut(strings.TrimSpace(c), " ")
		setsCmd = setsCmd || strings.EqualFold(instr, "CMD")
		setsEntrypoint = setsEntrypoint || strings.EqualFold(instr, "ENTRYPOINT")
	}
	// As in a Dockerfile: a new ENTRYPOINT drops the Cmd inherited with the
	// old one, which was written for it.
	if setsEntrypoint && !setsCmd {
		cfg.Config.Cmd = nil
	}
	created := v1.Time{Time: opts.Created.UTC()}
	cfg.Created = created
	cfg.Author = opts.Author
	cfg.Container = ""
	cfg.RootFS.Type = "layers"
	cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs[:0:0], toHashes(append(rec.DiffIDs, m.DiffID))...)
	cfg.History = append(cfg.History, v1.History{
		Created: created, CreatedBy: opts.CreatedBy, Comment: opts.Comment, Author: opts.Author,
	})
	raw, err := json.Marshal(cfg)
	if err != nil {
		return Record{}, err
	}
	rec.DiffIDs = append(rec.DiffIDs, m.DiffID)
	rec.ChainIDs = layer.ChainIDs(rec.DiffIDs)
	rec.Size += m.Size
	rec.Source = opts.Source
	if rec.Source == "" {
		rec.Source = "commit"
	}
	rec.Pulled = time.Now().UTC()
	if rec.ID, err = s.PutBlob(raw); err != nil {
		return Record{}, err
	}
	if err := im.Put(rec, opts.Name); err != nil {
		return Record{}, err
	}
	return rec, nil
}

func toHashes(ds []digest.Digest) []v1.Hash {
	out := make([]v1.Hash, len(ds))
	for i, d := range ds {
		out[i] = v1.Hash{Algorithm: string(d.Algorithm()), Hex: d.Encoded()}
	}
	return out
}
