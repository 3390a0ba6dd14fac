package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

var gcCommand = &cli.Command{
	Name:  "gc",
	Usage: "remove layers, blobs and flattened bases that no image or container uses",
	Action: func(c *cli.Context) error {
		s, err := openStores(c)
		if err != nil {
			return err
		}
		defer s.Close()
		res, err := s.GC(c.Context)
		for _, m := range res.Layers {
			fmt.Printf("removed layer %s\n", m.ChainID)
		}
		if err != nil {
			return fmt.Errorf("gc: %w", err)
		}
		if res.FlatBases == 1 {
			fmt.Println("removed 1 flattened base")
		} else if res.FlatBases > 1 {
			fmt.Printf("removed %d flattened bases\n", res.FlatBases)
		}
		fmt.Printf("freed %d layers (%s), %d blobs\n", len(res.Layers), humanSize(res.Freed()), res.Blobs)
		return nil
	},
}
