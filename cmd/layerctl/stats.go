package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	humanize "github.com/dustin/go-humanize"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/layerctl/layerctl/pkg/container"
)

// statsInterval is the time between two readings: CPU % is the CPU time
// used over it.
const statsInterval = time.Second

var statsCommand = &cli.Command{
	Name:      "stats",
	Usage:     "show running containers' CPU, memory, network and PIDs, refreshed each second (--no-stream: once)",
	ArgsUsage: "[CONTAINER...]",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "no-stream", Usage: "print one reading and exit"},
		&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "also containers that are not running (shown as --)"},
		templateFormatFlag,
	},
	Action: func(c *cli.Context) error {
		lf, err := parseListFormat(c.String("format"))
		if err != nil {
			return fmt.Errorf("stats: %w", err)
		}
		s, err := openStores(c)
		if err != nil {
			return err
		}
		defer s.Close()
		refs := c.Args().Slice()
		clear := !c.Bool("no-stream") && lf.tmpl == nil && !lf.json && term.IsTerminal(int(os.Stdout.Fd()))
		prev := map[string]container.ContainerStats{}
		first := true
		for {
			rows, err := statsRows(s, refs, c.Bool("all"), prev)
			if err != nil {
				return fmt.Errorf("stats: %w", err)
			}
			// CPU % needs a reading before: the first round only takes one.
			if !first {
				if clear {
					fmt.Print("\033[2J\033[H")
				}
				if err := printStats(lf, rows); err != nil {
					return err
				}
				if c.Bool("no-stream") {
					return nil
				}
			}
			first = false
			select {
			case <-c.Context.Done():
				return nil
			case <-time.After(statsInterval):
			}
		}
	},
}

// statsRow is a line of stats, and what --format's templates see.
type statsRow struct {
	Container, ID, Name                     string
	CPUPerc, MemUsage, MemPerc, NetIO, PIDs string
}

// statsRows reads each container named (all running ones when none, every
// one with all), its CPU % against its reading in prev, which it updates.
func statsRows(s *container.Store, refs []string, all bool, prev map[string]container.ContainerStats) ([]statsRow, error) {
	named := len(refs) > 0
	if !named {
		list, err := s.ListContainers(all, container.Filters{})
		if err != nil {
			return nil, err
		}
		for _, sum := range list {
			refs = append(refs, sum.ID)
		}
	}
	var rows []statsRow
	for _, ref := range refs {
		st, err := s.Stats(ref)
		switch {
		case errors.Is(err, container.ErrNotRunning) && (all || named):
			cur, rerr := s.Resolve(ref)
			if rerr != nil {
				return nil, rerr
			}
			rows = append(rows, statsRow{Container: cur.ID[:12], ID: cur.ID, Name: cur.Name,
				CPUPerc: "--", MemUsage: "-- / --", MemPerc: "--", NetIO: "-- / --", PIDs: "--"})
			continue
		case errors.Is(err, container.ErrNotRunning) || errors.Is(err, container.ErrNotFound) && !named:
			continue // ended or removed since the listing
		case err != nil:
			return nil, err
		}
		rows = append(rows, newStatsRow(st, prev[st.ID]))
		prev[st.ID] = st
	}
	return rows, nil
}

func newStatsRow(st, before container.ContainerStats) statsRow {
	cpu := "--"
	if wall := st.Read.Sub(before.Read); !before.Read.IsZero() && wall > 0 {
		cpu = fmt.Sprintf("%.2f%%", 100*float64(st.CPU-before.CPU)/float64(wall))
	}
	memPerc := "--"
	if st.MemoryLimit > 0 {
		memPerc = fmt.Sprintf("%.2f%%", 100*float64(st.Memory)/float64(st.MemoryLimit))
	}
	return statsRow{
		Container: st.ID[:12], ID: st.ID, Name: st.Name, CPUPerc: cpu,
		MemUsage: binarySize(st.Memory) + " / " + binarySize(st.MemoryLimit), MemPerc: memPerc,
		NetIO: decimalSize(st.NetRx) + " / " + decimalSize(st.NetTx), PIDs: fmt.Sprint(st.PIDs),
	}
}

// binarySize and decimalSize write sizes as docker stats does: memory in
// KiB, MiB..., network in kB, MB..., without a space.
func binarySize(n int64) string {
	return strings.ReplaceAll(humanize.IBytes(uint64(max(n, 0))), " ", "")
}
func decimalSize(n int64) string {
	return strings.ReplaceAll(humanize.Bytes(uint64(max(n, 0))), " ", "")
}

func printStats(lf listFormat, rows []statsRow) error {
	switch {
	case lf.json:
		return printJSON(rows)
	case lf.tmpl != nil:
		any := make([]any, len(rows))
		for i, r := range rows {
			any[i] = r
		}
		return lf.printRows(any, headerOf(statsRow{}))
	}
	out := bufio.NewWriter(os.Stdout)
	tw := newTable(out)
	fmt.Fprintln(tw, "CONTAINER ID\tNAME\tCPU %\tMEM USAGE / LIMIT\tMEM %\tNET I/O\tPIDS")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Container, r.Name, r.CPUPerc, r.MemUsage, r.MemPerc, r.NetIO, r.PIDs)
	}
	tw.Flush()
	return out.Flush()
}
