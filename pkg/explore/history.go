package explore

import (
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	digest "github.com/opencontainers/go-digest"
)

// HistoryEntry is one step of an image's history, as docker history shows
// it: a step that made a layer names it, an empty one (ENV, CMD, ...) has
// no layer and size 0.
type HistoryEntry struct {
	// Layer is the chain ID of the layer the step made, "" for an empty
	// layer or a step whose layer the image lacks.
	Layer      digest.Digest `json:"layer,omitempty"`
	Created    time.Time     `json:"created,omitzero"`
	CreatedBy  string        `json:"createdBy"`
	SizeBytes  int64         `json:"sizeBytes"`
	Comment    string        `json:"comment,omitempty"`
	EmptyLayer bool          `json:"emptyLayer,omitempty"`
}

// History returns the history of the image ref, top step first. Each step
// that made a layer is paired with the image's next layer, base first; a
// layer the config's history does not mention still gets an entry.
func History(s Store, ref string) ([]HistoryEntry, error) {
	rec, cf, err := imageConfig(s, ref)
	if err != nil {
		return nil, err
	}
	entries := pairHistory(cf.History, rec.ChainIDs)
	for i, e := range entries {
		if e.Layer == "" {
			continue
		}
		m, err := s.Layer(e.Layer)
		if err != nil {
			return nil, err
		}
		entries[i].SizeBytes = m.Size
	}
	for i, j := 0, len(entries)-1; i < j; i, j = i+1, j-1 {
		entries[i], entries[j] = entries[j], entries[i]
	}
	return entries, nil
}

// pairHistory pairs the config's history (base first) with the layers' chain
// IDs (base first).
func pairHistory(hist []v1.History, chainIDs []digest.Digest) []HistoryEntry {
	var out []HistoryEntry
	next := 0
	for _, h := range hist {
		e := HistoryEntry{Created: h.Created.Time, CreatedBy: h.CreatedBy, Comment: h.Comment, EmptyLayer: h.EmptyLayer}
		if !h.EmptyLayer && next < len(chainIDs) {
			e.Layer = chainIDs[next]
			next++
		}
		out = append(out, e)
	}
	for ; next < len(chainIDs); next++ {
		out = append(out, HistoryEntry{Layer: chainIDs[next]})
	}
	return out
}

// layerCommands are the created-by lines of each layer, base first.
func layerCommands(hist []v1.History, chainIDs []digest.Digest) []string {
	cmds := make([]string, len(chainIDs))
	i := 0
	for _, e := range pairHistory(hist, chainIDs) {
		if e.Layer != "" {
			cmds[i] = e.CreatedBy
			i++
		}
	}
	return cmds
}
