package main

import (
	"fmt"

	digest "github.com/opencontainers/go-digest"

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
		removed, err := s.layers.GC(func() ([]digest.Digest, error) { return referencedTops(s) }, nil)
		if err != nil {
			return fmt.Errorf("gc: %w", err)
		}
		var freed int64
		for _, m := range removed {
			fmt.Printf("removed layer %s\n", m.ChainID)
			freed += m.Size
		}
		var gone int
		err = s.layers.Exclusive(func() error {
			// What is referenced is read once no other process runs.
			_, blobs, err := referenced(s)
			if err != nil {
				return err
			}
			ds, err := s.layers.RemoveBlobs(blobs)
			gone = len(ds)
			return err
		})
		if err != nil {
			return fmt.Errorf("gc: remove blobs: %w", err)
		}
		flat, err := s.containers.GCFlat()
		if err != nil {
			return fmt.Errorf("gc: remove flattened bases: %w", err)
		}
		if flat == 1 {
			fmt.Println("removed 1 flattened base")
		} else if flat > 1 {
			fmt.Printf("removed %d flattened bases\n", flat)
		}
		fmt.Printf("freed %d layers (%s), %d blobs\n", len(removed), humanSize(freed), gone)
		return nil
	},
}
