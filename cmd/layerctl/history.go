package main

import (
	"fmt"
	"os"
	"strings"

	humanize "github.com/dustin/go-humanize"
	"github.com/urfave/cli/v2"

	"github.com/layerctl/layerctl/pkg/explore"
)

var historyCommand = &cli.Command{
	Name:      "history",
	Usage:     "show the steps that made an image, top layer first",
	ArgsUsage: "IMAGE",
	Flags: []cli.Flag{
		formatFlag,
		&cli.BoolFlag{Name: "no-trunc", Usage: "print full layer IDs and commands"},
	},
	Action: func(c *cli.Context) error {
		if c.NArg() != 1 {
			return fmt.Errorf("history: want one IMAGE")
		}
		jsonOut, err := checkFormat(c)
		if err != nil {
			return fmt.Errorf("history: %w", err)
		}
		s, err := openStores(c)
		if err != nil {
			return err
		}
		defer s.Close()
		ref := c.Args().First()
		entries, err := explore.History(s, ref)
		if err != nil {
			return fmt.Errorf("history %s: %w", ref, err)
		}
		if jsonOut {
			return printJSON(entries)
		}
		return printHistory(entries, c.Bool("no-trunc"))
	},
}

// printHistory prints Docker's history table: a step without a layer shows
// <missing> and 0B, as Docker shows an empty layer.
func printHistory(entries []explore.HistoryEntry, noTrunc bool) error {
	tw := newTable(os.Stdout)
	fmt.Fprintln(tw, "LAYER\tCREATED\tCREATED BY\tSIZE\tCOMMENT")
	for _, e := range entries {
		id := "<missing>"
		if e.Layer != "" {
			id = short(e.Layer)
			if noTrunc {
				id = e.Layer.String()
			}
		}
		created := "N/A"
		if !e.Created.IsZero() {
			created = humanize.Time(e.Created)
		}
		createdBy := strings.NewReplacer("\t", " ", "\n", " ").Replace(e.CreatedBy)
		if !noTrunc {
			createdBy = ellipsis(createdBy, 45)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", id, created, createdBy, humanSize(e.SizeBytes), e.Comment)
	}
	return tw.Flush()
}

// ellipsis cuts s to n runes, the last one "…", as Docker's tables do.
func ellipsis(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
