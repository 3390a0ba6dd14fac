package explore

import (
	"context"
	"fmt"
	"runtime"

	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/layer"
)

// Report is what explore --format json prints.
type Report struct {
	Image             string        `json:"image"`
	ID                digest.Digest `json:"id"`
	SizeBytes         int64         `json:"sizeBytes"`
	WastedBytes       int64         `json:"wastedBytes"`
	UserWastedPercent float64       `json:"userWastedPercent"`
	Efficiency        float64       `json:"efficiency"`
	// BaseLayers are the layers of the base image: user bytes are above.
	BaseLayers      int            `json:"baseLayers"`
	UserSizeBytes   int64          `json:"userSizeBytes"`
	UserWastedBytes int64          `json:"userWastedBytes"`
	Layers          []LayerReport  `json:"layers"`
	Inefficiencies  []Inefficiency `json:"inefficiencies"`
}

// LayerReport is one layer of a Report, with its changes' absolute paths.
type LayerReport struct {
	Index     int           `json:"index"`
	ChainID   digest.Digest `json:"chainID"`
	DiffID    digest.Digest `json:"diffID"`
	CreatedBy string        `json:"createdBy"`
	SizeBytes int64         `json:"sizeBytes"`
	Added     []string      `json:"added"`
	Modified  []string      `json:"modified"`
	Deleted   []string      `json:"deleted"`
	// Files are the layer's changes in the walker's order, for the views
	// that need more than the paths.
	Files []File `json:"-"`
}

// Options tune Analyze.
type Options struct {
	// BaseLayers is how many of the image's bottom layers are its base
	// image; 0 counts every layer as the user's. Below 0: as the image's
	// record says (a build records its FROM image's layers; else 0).
	BaseLayers int
}

// Analyze reads the changes of every layer of the image ref and reckons
// its figures.
func Analyze(ctx context.Context, s Store, ref string, opts Options) (*Report, error) {
	rec, cf, err := imageConfig(s, ref)
	if err != nil {
		return nil, err
	}
	if opts.BaseLayers < 0 {
		opts.BaseLayers = rec.BaseLayers
	}
	if opts.BaseLayers < 0 || opts.BaseLayers > len(rec.ChainIDs) {
		return nil, fmt.Errorf("base of %d layers: the image has %d", opts.BaseLayers, len(rec.ChainIDs))
	}
	cmds := layerCommands(cf.History, rec.ChainIDs)
	rep := &Report{Image: ref, ID: rec.ID, BaseLayers: opts.BaseLayers, Layers: make([]LayerReport, len(rec.ChainIDs)), Inefficiencies: []Inefficiency{}}
	// The layers are walked side by side: each walk waits on the disk as
	// much as it computes.
	all := make([][]File, len(rec.ChainIDs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0) + 1)
	for i := range rec.ChainIDs {
		g.Go(func() (err error) {
			all[i], err = layerFiles(gctx, s, rec.ChainIDs, i)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for i, id := range rec.ChainIDs {
		rep.Layers[i] = newLayerReport(i, id, rec.DiffIDs[i], cmds[i], all[i])
	}
	fig := Compute(all, opts.BaseLayers)
	for i := range rep.Layers {
		rep.Layers[i].SizeBytes = fig.LayerSizes[i]
	}
	rep.SizeBytes, rep.WastedBytes, rep.Efficiency = fig.SizeBytes, fig.WastedBytes, fig.Efficiency
	rep.UserSizeBytes, rep.UserWastedBytes, rep.UserWastedPercent = fig.UserSizeBytes, fig.UserWastedBytes, fig.UserWastedPercent
	if fig.Inefficiencies != nil {
		rep.Inefficiencies = fig.Inefficiencies
	}
	return rep, nil
}

func newLayerReport(idx int, chainID, diffID digest.Digest, createdBy string, files []File) LayerReport {
	l := LayerReport{Index: idx, ChainID: chainID, DiffID: diffID, CreatedBy: createdBy,
		Added: []string{}, Modified: []string{}, Deleted: []string{}, Files: files}
	for _, f := range files {
		switch f.Kind {
		case layer.Added:
			l.Added = append(l.Added, f.Path)
		case layer.Modified:
			l.Modified = append(l.Modified, f.Path)
		case layer.Deleted:
			l.Deleted = append(l.Deleted, f.Path)
		}
	}
	return l
}

// layerFiles are the changes of one layer, from the store's change walker.
func layerFiles(ctx context.Context, s Store, chain []digest.Digest, i int) ([]File, error) {
	var files []File
	err := s.ChainChanges(ctx, chain, i, func(c layer.Change) error {
		files = append(files, fileOf(c))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", chain[i], err)
	}
	return files, nil
}

func fileOf(c layer.Change) File {
	f := File{Path: "/" + c.Path, Kind: c.Kind, Opaque: c.Opaque}
	if c.Link != "" {
		f.Link = "/" + c.Link
	}
	if c.Kind == layer.Deleted {
		return f
	}
	switch c.Stat.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		f.Dir = true
	case unix.S_IFREG:
		if c.Link == "" {
			f.Size = c.Stat.Size
		}
	}
	return f
}
