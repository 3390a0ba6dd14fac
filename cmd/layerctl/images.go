package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/layerctl/layerctl/pkg/container"
	"github.com/layerctl/layerctl/pkg/image"
)

// imageRow is what an images --format template sees: Docker's field names,
// as text, as Docker's are.
type imageRow struct {
	ID           string
	Repository   string
	Tag          string
	Digest       string
	CreatedAt    string
	CreatedSince string
	Size         string
	Containers   string
	Layers       string
}

// imageJSON is a line of images --format json.
type imageJSON struct {
	Repository string `json:"Repository"`
	Tag        string `json:"Tag"`
	ID         string `json:"Id"`
	Layers     int    `json:"Layers"`
	Size       int64  `json:"Size"`
}

var imagesCommand = &cli.Command{
	Name:      "images",
	Usage:     "list the images in the store",
	ArgsUsage: "[REPOSITORY[:TAG]]",
	Flags: []cli.Flag{templateFormatFlag, filterFlag, quietFlag, noTruncFlag,
		// Docker's -a adds the legacy builder's intermediate images; build
		// here, as BuildKit, records none, so every image is listed anyway.
		&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "every image (there are no intermediate ones to hide)"}},
	Action: func(c *cli.Context) error {
		if c.NArg() > 1 {
			return fmt.Errorf("images: want at most one REPOSITORY[:TAG]")
		}
		lf, err := parseListFormat(c.String("format"))
		if err != nil {
			return fmt.Errorf("images: %w", err)
		}
		filters, err := container.ParseFilters(c.StringSlice("filter"), container.ImageFilterKeys...)
		if err != nil {
			return fmt.Errorf("images: %w", err)
		}
		s, err := openStores(c)
		if err != nil {
			return err
		}
		defer s.Close()
		// Only a template can show .Containers (by name, or all fields by json).
		count := lf.tmpl != nil && (strings.Contains(c.String("format"), "Containers") || strings.Contains(c.String("format"), "json"))
		list, err := s.ListImages(c.Args().First(), filters, count)
		if err != nil {
			return fmt.Errorf("images: %w", err)
		}
		return printImages(c, lf, list)
	},
}

func printImages(c *cli.Context, lf listFormat, list []container.ImageSummary) error {
	if c.Bool("quiet") {
		seen := map[string]bool{}
		for _, im := range list {
			if id := imageIDShown(c, im.ID); !seen[id] {
				seen[id] = true
				fmt.Println(id)
			}
		}
		return nil
	}
	if lf.json {
		rows := []imageJSON{}
		for _, im := range list {
			repo, tag := splitOrNone(im.Name)
			rows = append(rows, imageJSON{repo, tag, im.ID.String(), len(im.DiffIDs), im.Size})
		}
		return printJSON(rows)
	}
	if lf.tmpl != nil {
		rows := make([]any, 0, len(list))
		for _, im := range list {
			r := newImageRow(im)
			r.ID = imageIDShown(c, im.ID)
			rows = append(rows, r)
		}
		return lf.printRows(rows, headerOf(imageRow{}))
	}
	tw := newTable(os.Stdout)
	fmt.Fprintln(tw, "REPOSITORY\tTAG\tIMAGE-ID\tLAYERS\tSIZE")
	for _, im := range list {
		repo, tag := splitOrNone(im.Name)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", repo, tag, imageIDShown(c, im.ID), len(im.DiffIDs), humanSize(im.Size))
	}
	return tw.Flush()
}

func newImageRow(im container.ImageSummary) imageRow {
	repo, tag := splitOrNone(im.Name)
	r := imageRow{
		ID: short(im.ID), Repository: repo, Tag: tag, Digest: "<none>",
		Size: humanSize(im.Size), Containers: fmt.Sprint(im.Containers), Layers: fmt.Sprint(len(im.DiffIDs)),
	}
	if im.Manifest != "" {
		r.Digest = im.Manifest.String()
	}
	r.CreatedAt, r.CreatedSince = "N/A", "N/A" // an image may not say (Docker's words then)
	if created := im.Config.Created; !created.IsZero() {
		r.CreatedAt = created.Format("2006-01-02 15:04:05 -0700 MST")
		r.CreatedSince = since(created) + " ago"
	}
	return r
}

// splitOrNone is a stored name's repository and tag, <none> for no name.
func splitOrNone(stored string) (repo, tag string) {
	if stored == "" {
		return "<none>", "<none>"
	}
	return image.SplitName(stored)
}
