package main

import (
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/layerctl/layerctl/pkg/explore"
)

var exploreCommand = &cli.Command{
	Name:      "explore",
	Usage:     "show what each layer of an image adds, modifies, deletes and wastes (a TUI on a terminal)",
	ArgsUsage: "IMAGE",
	Flags: []cli.Flag{
		formatFlag,
		&cli.IntFlag{Name: "base", Usage: "the bottom `N` layers are the base image: user bytes are those above (default: the FROM image of a build, else 0)"},
		&cli.BoolFlag{Name: "ci", Usage: "check the image against the rules (dive's), print a report, exit 1 when one fails"},
		&cli.StringFlag{Name: "ci-config", Value: ".dive-ci", Usage: "the rules `FILE` (dive's .dive-ci), if it exists"},
		&cli.StringFlag{Name: "lowest-efficiency", Usage: "fail when the efficiency is below `RATIO` (or \"disabled\")"},
		&cli.StringFlag{Name: "highest-wasted-bytes", Usage: "fail when more than `SIZE` is wasted, e.g. 20MB (or \"disabled\")"},
		&cli.StringFlag{Name: "highest-user-wasted-percent", Usage: "fail when the user layers waste more than `RATIO` of their bytes (or \"disabled\")"},
	},
	Action: func(c *cli.Context) error {
		if c.NArg() != 1 {
			return fmt.Errorf("explore: want one IMAGE")
		}
		jsonOut, err := checkFormat(c)
		if err != nil {
			return fmt.Errorf("explore: %w", err)
		}
		tui := !jsonOut && !c.Bool("ci") && term.IsTerminal(int(os.Stdout.Fd())) && term.IsTerminal(int(os.Stdin.Fd()))
		if (tui || c.Bool("ci")) && !fullLinked {
			return handOff("explore") // before anything is opened
		}
		var rules explore.Rules
		if c.Bool("ci") {
			if rules, err = ciRules(c); err != nil {
				return fmt.Errorf("explore: %w", err)
			}
		}
		s, err := openStores(c)
		if err != nil {
			return err
		}
		defer s.Close()
		ref := c.Args().First()
		base := -1 // the build's FROM, when a build made the image
		if c.IsSet("base") {
			base = c.Int("base")
		}
		rep, err := explore.Analyze(c.Context, s, ref, explore.Options{BaseLayers: base})
		if err != nil {
			return fmt.Errorf("explore %s: %w", ref, err)
		}
		switch {
		case jsonOut:
			return printJSON(rep)
		case c.Bool("ci"):
			return ciReport(os.Stdout, rep, rules)
		}
		if tui {
			return runTUI(rep, s)
		}
		return printSummary(os.Stdout, rep)
	},
}

// ciReport prints the figures and each rule's verdict, as dive's CI mode
// does, and fails (exit 1, nothing more on stderr) when a rule fails.
func ciReport(w io.Writer, rep *explore.Report, rules explore.Rules) error {
	printFigures(w, rep)
	results, ok := explore.Evaluate(rep, rules)
	fmt.Fprintln(w, "Results:")
	counts := map[string]int{}
	for _, r := range results {
		counts[r.Status]++
		if r.Message != "" {
			fmt.Fprintf(w, "  %s: %s: %s\n", r.Status, r.Rule, r.Message)
		} else {
			fmt.Fprintf(w, "  %s: %s\n", r.Status, r.Rule)
		}
	}
	verdict := "PASS"
	if !ok {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "Result:%s [Total:%d] [Passed:%d] [Failed:%d] [Skipped:%d]\n",
		verdict, len(results), counts["PASS"], counts["FAIL"], counts["SKIP"])
	if !ok {
		return exitError{code: 1, err: errSilent}
	}
	return nil
}

// printFigures prints the image's figures and its most wasteful files.
func printFigures(w io.Writer, rep *explore.Report) {
	fmt.Fprintf(w, "Image: %s (%s)\n", rep.Image, short(rep.ID))
	fmt.Fprintf(w, "  size: %d bytes (%s)\n", rep.SizeBytes, humanSize(rep.SizeBytes))
	fmt.Fprintf(w, "  efficiency: %.4f %%\n", 100*rep.Efficiency)
	fmt.Fprintf(w, "  wastedBytes: %d bytes (%s)\n", rep.WastedBytes, humanSize(rep.WastedBytes))
	fmt.Fprintf(w, "  userWastedPercent: %.4f %% (of %s above %d base layers)\n", 100*rep.UserWastedPercent, humanSize(rep.UserSizeBytes), rep.BaseLayers)
	if len(rep.Inefficiencies) == 0 {
		return
	}
	fmt.Fprintln(w, "Inefficient files:")
	tw := newTable(w)
	fmt.Fprintln(tw, "  COUNT\tWASTED\tPATH")
	for i, f := range rep.Inefficiencies {
		if i == 10 {
			fmt.Fprintf(tw, "  ...\t\t(%d more)\n", len(rep.Inefficiencies)-i)
			break
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\n", f.Count, humanSize(f.WastedBytes), f.Path)
	}
	tw.Flush()
}

// printSummary is explore's plain output: the figures and the layers.
func printSummary(w io.Writer, rep *explore.Report) error {
	printFigures(w, rep)
	tw := newTable(w)
	fmt.Fprintln(tw, "INDEX\tLAYER\tSIZE\tADDED\tMODIFIED\tDELETED\tCREATED BY")
	for _, l := range rep.Layers {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%d\t%s\n", l.Index, short(l.ChainID), humanSize(l.SizeBytes),
			len(l.Added), len(l.Modified), len(l.Deleted), ellipsis(l.CreatedBy, 60))
	}
	return tw.Flush()
}
