package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/layerctl/layerctl/pkg/container"
)

var cpCommand = &cli.Command{
	Name:  "cp",
	Usage: "copy files between a container and the host (- for a tar stream on stdin or stdout)",
	ArgsUsage: "CONTAINER:SRC DEST|-\n" +
		"   layerctl cp SRC|- CONTAINER:DEST",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "archive", Aliases: []string{"a"}, Usage: "keep the source's owners (uid and gid)"},
		&cli.BoolFlag{Name: "follow-link", Aliases: []string{"L"}, Usage: "copy what a symlink named as SRC points to"},
	},
	Action: func(c *cli.Context) error {
		if c.NArg() != 2 {
			return fmt.Errorf("cp: want SRC DEST, one of them CONTAINER:PATH")
		}
		src, dst := c.Args().Get(0), c.Args().Get(1)
		srcCtr, srcPath, srcIn := splitContainerPath(src)
		dstCtr, dstPath, dstIn := splitContainerPath(dst)
		if srcIn == dstIn {
			return fmt.Errorf("cp %s %s: one of SRC and DEST must be CONTAINER:PATH, not both", src, dst)
		}
		s, err := openStores(c)
		if err != nil {
			return err
		}
		defer s.Close()
		o := container.CopyOptions{Archive: c.Bool("archive"), FollowLink: c.Bool("follow-link")}
		switch {
		case srcIn && dst == "-":
			err = s.CopyOut(srcCtr, srcPath, os.Stdout, o)
		case srcIn:
			err = s.Copy(srcCtr, false, srcPath, dst, o)
		case src == "-":
			err = s.CopyIn(dstCtr, dstPath, os.Stdin, o)
		default:
			err = s.Copy(dstCtr, true, src, dstPath, o)
		}
		if err != nil {
			return fmt.Errorf("cp %s %s: %w", src, dst, err)
		}
		return nil
	},
}

// splitContainerPath reads CONTAINER:PATH; a host path with a colon is
// written with a slash before it (./a:b), as for docker cp.
func splitContainerPath(arg string) (ctr, path string, ok bool) {
	i := strings.IndexByte(arg, ':')
	if i <= 0 || strings.Contains(arg[:i], "/") {
		return "", arg, false
	}
	return arg[:i], arg[i+1:], true
}
