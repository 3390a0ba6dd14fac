package main

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

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
		defer releaseOnSignal(s, "cp")()
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

// releaseOnSignal ends the process on SIGINT, SIGTERM or SIGHUP after giving
// back the mounts its copies hold (a copy blocked on a slow pipe cannot be
// unwound), as a shell reports a signal's end (128 + the signal). The
// returned func stops it.
func releaseOnSignal(s *container.Store, what string) func() {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-sigs:
			n := sig.(syscall.Signal)
			if err := s.ReleaseCopies(); err != nil {
				fmt.Fprintf(os.Stderr, "layerctl: %s: %v\n", what, err)
			}
			fmt.Fprintf(os.Stderr, "layerctl: %s: interrupted (%s)\n", what, unix.SignalName(n))
			os.Exit(128 + int(n))
		case <-done:
		}
	}()
	return func() { signal.Stop(sigs); close(done) }
}
