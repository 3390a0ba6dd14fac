package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"text/tabwriter"
	"text/template"
	"time"
	"unicode"

	"github.com/urfave/cli/v2"

	"github.com/layerctl/layerctl/pkg/image"
)

var formatFlag = &cli.StringFlag{Name: "format", Usage: "output format: table or json", Value: "table"}

// templateFormatFlag is --format of the listings that take Go templates.
var templateFormatFlag = &cli.StringFlag{Name: "format", Usage: "`FORMAT`: table, json, a Go template ('{{.ID}}') or 'table TEMPLATE'", Value: "table"}

// filterFlag is Docker's --filter KEY=VALUE.
var filterFlag = &cli.StringSliceFlag{Name: "filter", Aliases: []string{"f"}, Usage: "keep what matches `KEY=VALUE` (repeatable)"}

// quietFlag is -q: IDs only.
var quietFlag = &cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print IDs only"}

// checkFormat is for listings that print only their table or JSON.
func checkFormat(c *cli.Context) (jsonOut bool, err error) {
	switch f := c.String("format"); f {
	case "table", "":
		return false, nil
	case "json":
		return true, nil
	default:
		return false, fmt.Errorf("--format %q: want table or json", f)
	}
}

// listFormat is how a listing prints: the command's own table, JSON, or a
// Go template run on each row (Docker's --format).
type listFormat struct {
	json  bool
	tmpl  *template.Template // nil: the command's own table
	table bool               // the template's output is a table with a header
}

func parseListFormat(f string) (listFormat, error) {
	switch f {
	case "table", "":
		return listFormat{}, nil
	case "json":
		return listFormat{json: true}, nil
	}
	lf := listFormat{}
	if rest, ok := strings.CutPrefix(f, "table "); ok {
		f, lf.table = rest, true
	}
	t, err := parseTemplate(f)
	if err != nil {
		return lf, err
	}
	lf.tmpl = t
	return lf, nil
}

// parseTemplate parses a --format template, with Docker's functions. A
// template says "\t" where a shell cannot easily pass a tab.
func parseTemplate(f string) (*template.Template, error) {
	// A format without an action ("yaml") is a mistake, not a template
	// that prints the same word for every row.
	if !strings.Contains(f, "{{") {
		return nil, fmt.Errorf("--format %q: want table, json or a Go template such as '{{.ID}}'", f)
	}
	f = strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(f)
	t, err := template.New("format").Funcs(template.FuncMap{
		"json": func(v any) (string, error) {
			b, err := json.Marshal(v)
			return string(b), err
		},
		"join":  strings.Join,
		"split": strings.Split,
		"lower": strings.ToLower,
		"upper": strings.ToUpper,
		"truncate": func(s string, n int) string {
			if len(s) > n {
				return s[:n]
			}
			return s
		},
	}).Option("missingkey=error").Parse(f)
	if err != nil {
		return nil, fmt.Errorf("--format: %w", err)
	}
	return t, nil
}

// printRows runs the template on each row, a line each; as a table, the
// header comes from the template run on header (the field names in capitals).
func (lf listFormat) printRows(rows []any, header any) error {
	out := bufio.NewWriter(os.Stdout)
	var w io.Writer = out
	var tw *table
	if lf.table {
		tw = newTable(out)
		w = tw
		if err := lf.tmpl.Execute(w, header); err != nil {
			return fmt.Errorf("--format: %w", err)
		}
		fmt.Fprintln(w)
	}
	for _, r := range rows {
		if err := lf.tmpl.Execute(w, r); err != nil {
			return fmt.Errorf("--format: %w", err)
		}
		fmt.Fprintln(w)
	}
	if tw != nil {
		tw.Flush()
	}
	return out.Flush()
}

// headerOf maps each field of a row struct to its name in capitals, the
// header a "table TEMPLATE" format prints.
func headerOf(row any) map[string]string {
	h := map[string]string{}
	t := reflect.TypeOf(row)
	for i := range t.NumField() {
		n := t.Field(i).Name
		var b strings.Builder
		for j, r := range n {
			if j > 0 && unicode.IsUpper(r) && !unicode.IsUpper(rune(n[j-1])) {
				b.WriteByte(' ')
			}
			b.WriteRune(unicode.ToUpper(r))
		}
		h[n] = b.String()
	}
	return h
}

// since is Docker's "3 hours ago" / "Up 3 hours" duration.
func since(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := time.Since(t)
	switch {
	case d < time.Second:
		return "Less than a second"
	case d < time.Minute:
		return fmt.Sprintf("%d seconds", int(d.Seconds()))
	case d < time.Hour:
		return plural(int(d.Minutes()), "minute")
	case d < 48*time.Hour:
		return plural(int(d.Hours()), "hour")
	case d < 14*24*time.Hour:
		return plural(int(d.Hours()/24), "day")
	case d < 60*24*time.Hour:
		return plural(int(d.Hours()/24/7), "week")
	case d < 2*365*24*time.Hour:
		return plural(int(d.Hours()/24/30), "month")
	}
	return plural(int(d.Hours()/24/365), "year")
}

func plural(n int, unit string) string {
	switch {
	case n == 1 && unit == "hour":
		return "About an hour"
	case n == 1:
		return "About a " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newTable(w io.Writer) *table {
	buf := bufio.NewWriterSize(w, 32<<10)
	return &table{tabwriter.NewWriter(buf, 0, 4, 3, ' ', 0), buf}
}

// table is a tabwriter whose cells reach its writer in one write at Flush
// (a tabwriter alone writes each cell and padding apart: a system call each
// on stdout).
type table struct {
	*tabwriter.Writer
	buf *bufio.Writer
}

func (t *table) Flush() error {
	if err := t.Writer.Flush(); err != nil {
		return err
	}
	return t.buf.Flush()
}

// humanSize prints bytes the way docker images does (decimal units).
func humanSize(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	f := float64(n)
	for _, u := range []string{"kB", "MB", "GB", "TB"} {
		f /= unit
		if f < unit {
			return fmt.Sprintf("%.3g%s", f, u)
		}
	}
	return fmt.Sprintf("%.3gPB", f/unit)
}

// short is the 12-hex form of a digest string.
// noTruncFlag is --no-trunc: whole IDs in a listing.
var noTruncFlag = &cli.BoolFlag{Name: "no-trunc", Usage: "print whole IDs"}

// idShown is a container ID as listings print it: 12 digits unless
// --no-trunc.
func idShown(c *cli.Context, id string) string {
	if c.Bool("no-trunc") || len(id) <= 12 {
		return id
	}
	return id[:12]
}

// imageIDShown is an image ID as listings print it: 12 digits, or with
// --no-trunc the whole digest (sha256:...).
func imageIDShown(c *cli.Context, d fmt.Stringer) string {
	if c.Bool("no-trunc") {
		return d.String()
	}
	return short(d)
}

func short(d fmt.Stringer) string {
	s := d.String()
	if i := len("sha256:"); len(s) > i+12 && s[:i] == "sha256:" {
		return s[i : i+12]
	}
	return s
}

// displayName shows a stored image name the short way.
func displayName(stored string) string { return image.ShortName(stored) }
