package main

import (
	"fmt"
	"os"
	"sort"

	"github.com/urfave/cli/v2"

	"github.com/layerctl/layerctl/pkg/union"
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
		f := union.Detect()
		fsType, dType, err := union.Backing(s.layers.Root())
		if err != nil {
			return fmt.Errorf("info: %w", err)
		}
		recs, err := s.images.List()
		if err != nil {
			return fmt.Errorf("info: %w", err)
		}
		metas, err := s.layers.List()
		if err != nil {
			return fmt.Errorf("info: %w", err)
		}
		var opts []string
		for o := range f.OverlayOptions {
			opts = append(opts, o)
		}
		sort.Strings(opts)
		settings := s.layers.Settings()
		tw := newTable(os.Stdout)
		fmt.Fprintf(tw, "Root:\t%s\n", s.layers.Root())
		fmt.Fprintf(tw, "Driver:\t%s\n", settings.Driver)
		fmt.Fprintf(tw, "Whiteout format:\t%s\n", settings.Whiteout)
		fmt.Fprintf(tw, "Backing filesystem:\t%s\n", fsType)
		fmt.Fprintf(tw, "Supports d_type:\t%v\n", dType)
		fmt.Fprintf(tw, "Kernel:\t%s\n", f.Kernel)
		fmt.Fprintf(tw, "overlay:\t%v\n", f.Overlay)
		fmt.Fprintf(tw, "overlay parameters:\t%v\n", opts)
		fmt.Fprintf(tw, "aufs:\t%v\n", f.AUFS)
		fmt.Fprintf(tw, "Cgroup version:\t%s\n", f.CgroupVersion)
		fmt.Fprintf(tw, "Images:\t%d\n", len(recs))
		fmt.Fprintf(tw, "Layers:\t%d\n", len(metas))
		return tw.Flush()
	},
}
