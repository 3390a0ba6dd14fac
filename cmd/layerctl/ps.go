package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/layerctl/layerctl/pkg/container"
)

// containerRow is what a ps --format template sees: Docker's field names,
// as text.
type containerRow struct {
	ID         string
	Names      string
	Image      string
	Command    string
	CreatedAt  string
	RunningFor string
	State      string
	Status     string
	Labels     string
	Pid        string
}

// psJSON is a line of ps --format json.
type psJSON struct {
	ID     string `json:"Id"`
	Name   string `json:"Name"`
	Image  string `json:"Image"`
	Status string `json:"Status"`
	Pid    int    `json:"Pid"`
}

var psCommand = &cli.Command{
	Name:  "ps",
	Usage: "list containers",
	Flags: []cli.Flag{
		templateFormatFlag, filterFlag, quietFlag,
		&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "also containers that are not running"},
		&cli.IntFlag{Name: "last", Aliases: []string{"n"}, Value: -1, Usage: "only the `N` containers made last, in any state"},
		&cli.BoolFlag{Name: "latest", Aliases: []string{"l"}, Usage: "only the container made last, in any state"},
		noTruncFlag,
	},
	Action: func(c *cli.Context) error {
		lf, err := parseListFormat(c.String("format"))
		if err != nil {
			return fmt.Errorf("ps: %w", err)
		}
		filters, err := container.ParseFilters(c.StringSlice("filter"), container.ContainerFilterKeys...)
		if err != nil {
			return fmt.Errorf("ps: %w", err)
		}
		s, err := openStores(c)
		if err != nil {
			return err
		}
		defer s.Close()
		// Without -a, as Docker: only running containers (and, here,
		// mounted ones, which are in use too).
		last := c.Int("last")
		if c.Bool("latest") {
			last = 1
		}
		list, err := s.ListContainers(c.Bool("all") || last >= 0, filters)
		if err != nil {
			return fmt.Errorf("ps: %w", err)
		}
		if last >= 0 && last < len(list) {
			list = list[:last] // newest first
		}
		return printContainers(c, lf, list)
	},
}

func printContainers(c *cli.Context, lf listFormat, list []container.ContainerSummary) error {
	switch {
	case c.Bool("quiet"):
		for _, sum := range list {
			fmt.Println(idShown(c, sum.ID))
		}
		return nil
	case lf.json:
		rows := []psJSON{}
		for _, sum := range list {
			rows = append(rows, psJSON{sum.ID, sum.Name, displayName(sum.ImageShown), sum.Status, sum.Pid})
		}
		return printJSON(rows)
	case lf.tmpl != nil:
		rows := make([]any, 0, len(list))
		for _, sum := range list {
			r := newContainerRow(sum)
			r.ID = idShown(c, sum.ID)
			rows = append(rows, r)
		}
		return lf.printRows(rows, headerOf(containerRow{}))
	}
	tw := newTable(os.Stdout)
	fmt.Fprintln(tw, "CONTAINER-ID\tNAME\tIMAGE\tSTATUS\tPID")
	for _, sum := range list {
		pid := "-"
		if sum.Pid > 0 {
			pid = fmt.Sprint(sum.Pid)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", idShown(c, sum.ID), sum.Name, displayName(sum.ImageShown), sum.Status, pid)
	}
	return tw.Flush()
}

func newContainerRow(sum container.ContainerSummary) containerRow {
	state, _, _ := strings.Cut(sum.Status, " ")
	r := containerRow{
		ID: sum.ID[:12], Names: sum.Name, Image: displayName(sum.ImageShown),
		Command:   strconv.Quote(strings.Join(sum.Command, " ")),
		CreatedAt: sum.Created.Format("2006-01-02 15:04:05 -0700 MST"), RunningFor: since(sum.Created) + " ago",
		State: state, Status: dockerStatus(sum), Pid: fmt.Sprint(sum.Pid),
	}
	var labels []string
	for k, v := range sum.Labels {
		labels = append(labels, k+"="+v)
	}
	sort.Strings(labels)
	r.Labels = strings.Join(labels, ",")
	return r
}

// dockerStatus is Docker's STATUS column: "Up 3 minutes", "Exited (0) 2
// hours ago", "Created".
func dockerStatus(sum container.ContainerSummary) string {
	switch state, _, _ := strings.Cut(sum.Status, " "); state {
	case "running":
		return "Up " + since(sum.Started)
	case "paused":
		return "Up " + since(sum.Started) + " (Paused)"
	case "exited":
		code := ""
		if sum.ExitCode != nil {
			code = fmt.Sprintf(" (%d)", *sum.ExitCode)
		}
		return "Exited" + code + " " + since(sum.Finished) + " ago"
	case "mounted":
		return "Mounted"
	}
	return "Created"
}
