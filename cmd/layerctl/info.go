package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
)

var infoCommand = &cli.Command{
	Name:  "info",
	Usage: "show the driver, the backing filesystem, kernel features and store counts",
	Action: func(c *cli.Context) error {
		s, err := openStores(c)
		if err != nil {
			return err
		}
		defer s.Close()
		info, err := s.Info()
		if err != nil {
			return fmt.Errorf("info: %w", err)
		}
		tw := newTable(os.Stdout)
		fmt.Fprintf(tw, "Root:\t%s\n", info.Root)
		fmt.Fprintf(tw, "Driver:\t%s\n", info.Driver)
		fmt.Fprintf(tw, "Whiteout format:\t%s\n", info.Whiteout)
		fmt.Fprintf(tw, "Backing filesystem:\t%s\n", info.BackingFS)
		fmt.Fprintf(tw, "Supports d_type:\t%v\n", info.DType)
		fmt.Fprintf(tw, "Kernel:\t%s\n", info.Kernel)
		fmt.Fprintf(tw, "overlay:\t%v\n", info.Overlay)
		fmt.Fprintf(tw, "overlay parameters:\t%v\n", info.OverlayOptions)
		fmt.Fprintf(tw, "aufs:\t%v\n", info.AUFS)
		fmt.Fprintf(tw, "Cgroup version:\t%s\n", info.CgroupVersion)
		fmt.Fprintf(tw, "Images:\t%d\n", info.Images)
		fmt.Fprintf(tw, "Layers:\t%d\n", info.Layers)
		return tw.Flush()
	},
}
