package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/layerctl/layerctl/pkg/container"
)

var logsCommand = &cli.Command{
	Name:      "logs",
	Usage:     "print the output of a container started with run -d or start: its stdout on stdout, its stderr on stderr",
	ArgsUsage: "CONTAINER",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "go on printing while the container runs"},
		&cli.StringFlag{Name: "tail", Aliases: []string{"n"}, Value: "all", Usage: "only the last `N` lines"},
		&cli.BoolFlag{Name: "timestamps", Aliases: []string{"t"}, Usage: "prefix each line with its time (RFC 3339)"},
		&cli.StringFlag{Name: "since", Usage: "only lines written since `TIME`: RFC 3339, a date, Unix seconds, or a duration ago (10m)"},
		&cli.StringFlag{Name: "until", Usage: "only lines written until `TIME` (as --since)"},
	},
	UseShortOptionHandling: true,
	Action: func(c *cli.Context) error {
		if c.NArg() != 1 {
			return fmt.Errorf("logs: want one CONTAINER")
		}
		o := container.LogOptions{Follow: c.Bool("follow"), Timestamps: c.Bool("timestamps"), Tail: -1}
		if t := c.String("tail"); t != "all" {
			n, err := strconv.Atoi(t)
			if err != nil {
				return fmt.Errorf("logs: --tail %q: want a number or all", t)
			}
			o.Tail = max(n, -1) // as Docker: a negative number is all
		}
		now := time.Now()
		for _, f := range []struct {
			name string
			t    *time.Time
		}{{"since", &o.Since}, {"until", &o.Until}} {
			if v := c.String(f.name); v != "" {
				t, err := parseLogTime(v, now)
				if err != nil {
					return fmt.Errorf("logs: --%s %q: %w", f.name, v, err)
				}
				*f.t = t
			}
		}
		s, err := openStores(c)
		if err != nil {
			return err
		}
		// Following must not hold the store's shared lock: gc would wait.
		s.Close()
		if err := s.Logs(c.Context, c.Args().First(), o, os.Stdout, os.Stderr); err != nil {
			return fmt.Errorf("logs %s: %w", c.Args().First(), err)
		}
		return nil
	},
}

// parseLogTime reads a time as docker logs --since does: RFC 3339 (with or
// without a zone, then UTC), a date, Unix seconds (with a fraction), or a
// duration before now ("10m", "1h30m").
func parseLogTime(v string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	if sec, frac, _ := strings.Cut(v, "."); sec != "" {
		if s, err := strconv.ParseInt(sec, 10, 64); err == nil {
			var ns int64
			if frac != "" {
				f, err := strconv.ParseFloat("0."+frac, 64)
				if err != nil {
					return time.Time{}, errLogTime
				}
				ns = int64(f * 1e9)
			}
			return time.Unix(s, ns), nil
		}
	}
	return time.Time{}, errLogTime
}

var errLogTime = errors.New("want RFC 3339, a date, Unix seconds or a duration such as 10m")
