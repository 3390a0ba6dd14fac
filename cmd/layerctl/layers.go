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
		metas, err := s.Layers()
		if err != nil {
			return fmt.Errorf("layers: %w", err)
		}
		refs, err := s.LayerRefs()
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

func sortStrings(s []string) { sort.Strings(s) }
