package main

import (
	"fmt"
	"os"

	digest "github.com/opencontainers/go-digest"
	"github.com/urfave/cli/v2"

	"github.com/layerctl/layerctl/pkg/image"
)

var imagesCommand = &cli.Command{
	Name:  "images",
	Usage: "list the images in the store",
	Flags: []cli.Flag{formatFlag},
	Action: func(c *cli.Context) error {
		jsonOut, err := checkFormat(c)
		if err != nil {
			return fmt.Errorf("images: %w", err)
		}
		s, err := openStores(c)
		if err != nil {
			return err
		}
		defer s.Close()
		recs, err := s.Images()
		if err != nil {
			return fmt.Errorf("images: %w", err)
		}
		refs, err := s.ImageRefs()
		if err != nil {
			return fmt.Errorf("images: %w", err)
		}
		names := map[digest.Digest][]string{}
		for n, id := range refs {
			names[id] = append(names[id], n)
		}
		type row struct {
			Repository string `json:"Repository"`
			Tag        string `json:"Tag"`
			ID         string `json:"Id"`
			Layers     int    `json:"Layers"`
			Size       int64  `json:"Size"`
		}
		rows := []row{}
		for _, r := range recs {
			ns := names[r.ID]
			if len(ns) == 0 {
				ns = []string{""}
			}
			sortStrings(ns)
			for _, n := range ns {
				repo, tag := "<none>", "<none>"
				if n != "" {
					repo, tag = image.SplitName(n)
				}
				rows = append(rows, row{repo, tag, r.ID.String(), len(r.DiffIDs), r.Size})
			}
		}
		if jsonOut {
			return printJSON(rows)
		}
		tw := newTable(os.Stdout)
		fmt.Fprintln(tw, "REPOSITORY\tTAG\tIMAGE-ID\tLAYERS\tSIZE")
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", r.Repository, r.Tag, short(digest.Digest(r.ID)), r.Layers, humanSize(r.Size))
		}
		return tw.Flush()
	},
}
