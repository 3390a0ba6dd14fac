package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/layerctl/layerctl/pkg/container"
	"github.com/layerctl/layerctl/pkg/image"
)

var systemCommand = &cli.Command{
	Name:        "system",
	Usage:       "the store as a whole: df (its disk space), prune (what nothing uses)",
	Subcommands: []*cli.Command{systemDfCommand, systemPruneCommand},
}

var systemDfCommand = &cli.Command{
	Name:  "df",
	Usage: "show the disk space images, containers and layers take, and what pruning would free",
	Flags: []cli.Flag{&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "each image, container and layer"}},
	Action: func(c *cli.Context) error {
		if c.NArg() != 0 {
			return fmt.Errorf("system df: takes no arguments")
		}
		s, err := openStores(c)
		if err != nil {
			return err
		}
		defer s.Close()
		du, err := s.DiskUsage()
		if err != nil {
			return fmt.Errorf("system df: %w", err)
		}
		tw := newTable(os.Stdout)
		fmt.Fprintln(tw, "TYPE\tTOTAL\tACTIVE\tSIZE\tRECLAIMABLE")
		for _, u := range du.Summary() {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", u.Type, u.Total, u.Active, humanSize(u.Size), reclaimable(u))
		}
		if err := tw.Flush(); err != nil || !c.Bool("verbose") {
			return err
		}
		return printUsageDetail(du)
	},
}

// reclaimable is Docker's "800kB (66%)".
func reclaimable(u container.UsageSummary) string {
	if u.Size == 0 {
		return humanSize(u.Reclaimable)
	}
	return fmt.Sprintf("%s (%d%%)", humanSize(u.Reclaimable), u.Reclaimable*100/u.Size)
}

// printUsageDetail is system df -v: Docker's three tables, and the layers.
func printUsageDetail(du container.DiskUsage) error {
	tw := newTable(os.Stdout)
	fmt.Fprintln(tw, "\nImages space usage:\n\nREPOSITORY\tTAG\tIMAGE ID\tSIZE\tSHARED SIZE\tUNIQUE SIZE\tCONTAINERS")
	for _, im := range du.Images {
		names := im.Names
		if len(names) == 0 {
			names = []string{""}
		}
		for _, n := range names {
			repo, tag := splitOrNone(n)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", repo, tag, short(im.ID),
				humanSize(im.Size), humanSize(im.Shared), humanSize(im.Unique), im.Containers)
		}
	}
	fmt.Fprintln(tw, "\nContainers space usage:\n\nCONTAINER ID\tIMAGE\tNAMES\tSIZE\tSTATUS")
	for _, ct := range du.Containers {
		img := image.ShortName(ct.ImageName)
		if img == "" {
			img = short(ct.Image)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", ct.ID[:12], img, ct.Name, humanSize(ct.RWSize), ct.Status)
	}
	fmt.Fprintln(tw, "\nLayers space usage:\n\nLAYER ID\tSIZE\tIMAGES\tCONTAINERS")
	for _, l := range du.Layers {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", short(l.ChainID), humanSize(l.Size), l.Images, l.Containers)
	}
	fmt.Fprintln(tw, "\nLocal Volumes space usage:\n\nVOLUME NAME\tLINKS\tSIZE")
	for _, v := range du.Volumes {
		fmt.Fprintf(tw, "%s\t%d\t%s\n", v.Name, v.Containers, humanSize(v.Size))
	}
	return tw.Flush()
}
