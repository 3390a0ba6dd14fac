package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/layerctl/layerctl/pkg/container"
	"github.com/layerctl/layerctl/pkg/image"
)

var exportCommand = &cli.Command{
	Name:      "export",
	Usage:     "write a container's filesystem as a tar stream (import makes an image of it)",
	ArgsUsage: "CONTAINER",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to `FILE` instead of stdout"},
	},
	Action: func(c *cli.Context) error {
		if c.NArg() != 1 {
			return fmt.Errorf("export: want CONTAINER")
		}
		out := c.String("output")
		if out == "" && term.IsTerminal(int(os.Stdout.Fd())) {
			return errors.New("export: refusing to write a tar stream to a terminal: use -o FILE or redirect stdout")
		}
		s, err := openStores(c)
		if err != nil {
			return err
		}
		defer s.Close()
		defer releaseOnSignal(s, "export")()
		ref := c.Args().First()
		if out == "" {
			if err := s.Export(ref, os.Stdout); err != nil {
				return fmt.Errorf("export %s: %w", ref, err)
			}
			return nil
		}
		return writeFileAtomic(out, func(w io.Writer) error { return s.Export(ref, w) })
	},
}

// writeFileAtomic writes name through name.part, renamed into place once
// complete: an interrupted write leaves no half file under the name.
func writeFileAtomic(name string, write func(io.Writer) error) error {
	part := name + ".part"
	f, err := os.Create(part)
	if err != nil {
		return err
	}
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(part, name)
	}
	if err != nil {
		os.Remove(part)
	}
	return err
}

var importCommand = &cli.Command{
	Name:      "import",
	Usage:     "make an image of one layer from a filesystem tarball (plain, gzip, bzip2 or zstd; - for stdin)",
	ArgsUsage: "FILE|- [REPOSITORY[:TAG]]",
	Flags: []cli.Flag{
		&cli.StringSliceFlag{Name: "change", Aliases: []string{"c"}, Usage: "apply a Dockerfile instruction (" + image.Changeable + ")"},
		&cli.StringFlag{Name: "message", Aliases: []string{"m"}, Usage: "the history comment (default: Imported from FILE)"},
	},
	Action: func(c *cli.Context) error {
		if c.NArg() < 1 || c.NArg() > 2 {
			return fmt.Errorf("import: want FILE|- [REPOSITORY[:TAG]]")
		}
		src := c.Args().First()
		o := container.ImportOptions{Changes: c.StringSlice("change"), Comment: c.String("message"), Source: src}
		if c.NArg() == 2 {
			n, err := image.ParseName(c.Args().Get(1))
			if err != nil {
				return fmt.Errorf("import: %w", err)
			}
			o.Name = n
		}
		if err := container.CheckChanges(o.Changes); err != nil {
			return fmt.Errorf("import: %w", err)
		}
		r := io.Reader(os.Stdin)
		if src != "-" {
			f, err := os.Open(src)
			if err != nil {
				return fmt.Errorf("import: %w", err)
			}
			defer f.Close()
			r = f
		} else if term.IsTerminal(int(os.Stdin.Fd())) {
			return errors.New("import: refusing to read a tar stream from a terminal: pipe it in or name a FILE")
		}
		s, err := openStores(c)
		if err != nil {
			return err
		}
		defer s.Close()
		rec, err := s.Import(c.Context, r, o)
		if err != nil {
			return fmt.Errorf("import %s: %w", src, err)
		}
		fmt.Println(rec.ID)
		return nil
	},
}
