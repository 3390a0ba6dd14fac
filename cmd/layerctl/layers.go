package main

import (
	"fmt"
	"os"
	"sort"

	digest "github.com/opencontainers/go-digest"
	"github.com/urfave/cli/v2"
)

var layersCommand = &cli.Command{
	Name:  "layers",
	Usage: "list the layers in the store",
	Flags: []cli.Flag{formatFlag},
	Action: func(c *cli.Context) error {
		jsonOut, err := checkFormat(c)
		if err != nil {
			return fmt.Errorf("layers: %w", err)
		}
		s, err := openStores(c)
		if err != nil {
			return err
		}
		defer s.Close()
		metas, err := s.layers.List()
		if err != nil {
			return fmt.Errorf("layers: %w", err)
		}
		refs, err := layerRefs(s)
		if err != nil {
			return fmt.Errorf("layers: %w", err)
		}
		type row struct {
			ChainID digest.Digest `json:"ChainID"`
			DiffID  digest.Digest `json:"DiffID"`
			Parent  digest.Digest `json:"Parent"`
			Size    int64         `json:"Size"`
			Refs    int           `json:"Refs"`
		}
		rows := []row{}
		for _, m := range metas {
			rows = append(rows, row{m.ChainID, m.DiffID, m.Parent, m.Size, refs[m.ChainID]})
		}
		if jsonOut {
			return printJSON(rows)
		}
		tw := newTable(os.Stdout)
		fmt.Fprintln(tw, "CHAIN-ID\tDIFF-ID\tPARENT\tSIZE\tREFS")
		for _, r := range rows {
			parent := "-"
			if r.Parent != "" {
				parent = short(r.Parent)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", short(r.ChainID), short(r.DiffID), parent, humanSize(r.Size), r.Refs)
		}
		return tw.Flush()
	},
}

// layerRefs counts, per layer, the images whose layer chain includes it.
func layerRefs(s *stores) (map[digest.Digest]int, error) {
	recs, err := s.images.List()
	if err != nil {
		return nil, err
	}
	refs := map[digest.Digest]int{}
	for _, r := range recs {
		for _, id := range r.ChainIDs {
			refs[id]++
		}
	}
	ctrs, err := s.containers.List()
	if err != nil {
		return nil, err
	}
	for _, c := range ctrs {
		for _, id := range c.ChainIDs {
			refs[id]++
		}
	}
	return refs, nil
}

// referenced lists what keeps layers and blobs alive: every image's and
// container's top layer, and the images' config and manifest blobs.
func referenced(s *stores) (tops []digest.Digest, blobs map[digest.Digest]bool, err error) {
	recs, err := s.images.List()
	if err != nil {
		return nil, nil, err
	}
	blobs = map[digest.Digest]bool{}
	for _, r := range recs {
		if top := r.Top(); top != "" {
			tops = append(tops, top)
		}
		blobs[r.ID] = true
		if r.Manifest != "" {
			blobs[r.Manifest] = true
		}
	}
	// A container keeps its image's layers even after rmi -f.
	_, ctrTops, err := s.containers.UsedImages()
	if err != nil {
		return nil, nil, err
	}
	return append(tops, ctrTops...), blobs, nil
}

// referencedTops is referenced's top layers alone (GC's keep).
func referencedTops(s *stores) ([]digest.Digest, error) {
	tops, _, err := referenced(s)
	return tops, err
}

func sortStrings(s []string) { sort.Strings(s) }
