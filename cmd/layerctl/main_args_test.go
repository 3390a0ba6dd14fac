package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/layerctl/layerctl/pkg/ns/prespawn"
)

// commandName finds the command past the global flags, so that main knows
// a run before urfave/cli parses it.
func TestCommandName(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"run", "busybox"}, "run"},
		{[]string{"--root", "/s", "run", "busybox"}, "run"},
		{[]string{"--root=/s", "exec", "c", "sh"}, "exec"},
		{[]string{"-root", "/s", "--log-level", "debug", "start", "c"}, "start"},
		{[]string{"--driver", "vfs", "container", "run", "busybox"}, "run"},
		{[]string{"ps", "run"}, "ps"},
		{[]string{"--version"}, ""},
		{[]string{"--root"}, ""},
		{[]string{"--", "run"}, ""},
		{nil, ""},
	}
	for _, c := range cases {
		if got := commandName(c.args); got != c.want {
			t.Errorf("commandName(%q) = %q, want %q", c.args, got, c.want)
		}
	}
}

// commandsFor hands urfave/cli the named command alone, and every command
// where help, completion, a group or an unknown name needs them.
func TestCommandsFor(t *testing.T) {
	all := []*cli.Command{psCommand, imagesCommand, completionCommand, imageCommand, containerCommand, rmiCommand}
	cases := []struct {
		args []string
		want []string // nil: all of them
	}{
		{[]string{"ps", "-a"}, []string{"ps"}},
		{[]string{"--root", "/s", "images"}, []string{"images"}},
		{[]string{"ps", "--help"}, []string{"ps"}},
		{nil, nil},
		{[]string{"--help"}, nil},
		{[]string{"help", "ps"}, nil},
		{[]string{"completion", "bash"}, nil},
		{[]string{"image", "ls"}, nil},
		{[]string{"container", "ls"}, nil},
		{[]string{"nosuch"}, nil},
	}
	for _, c := range cases {
		var got []string
		for _, cmd := range commandsFor(all, c.args) {
			got = append(got, cmd.Name)
		}
		want := c.want
		if want == nil {
			for _, cmd := range all {
				want = append(want, cmd.Name)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("commandsFor(%q) = %q, want %q", c.args, got, want)
		}
	}
}

// Package prespawn reads a run's command line before urfave/cli is set up:
// its tables of value-taking flags are exactly the CLI's, so that it skips
// a flag's value where urfave/cli does and knows every flag of run.
func TestPrespawnFlagTables(t *testing.T) {
	kinds := func(flags []cli.Flag) (values, bools []string) {
		for _, f := range flags {
			if _, isBool := f.(*cli.BoolFlag); isBool {
				bools = append(bools, f.Names()...)
			} else {
				values = append(values, f.Names()...)
			}
		}
		slices.Sort(values)
		slices.Sort(bools)
		return values, bools
	}
	sorted := func(s []string) []string { return slices.Sorted(slices.Values(s)) }
	values, bools := kinds(runCommand.Flags)
	if got := sorted(prespawn.RunValueFlags); !slices.Equal(got, values) {
		t.Errorf("prespawn.RunValueFlags = %q, run's value flags are %q", got, values)
	}
	if got := sorted(prespawn.RunBoolFlags); !slices.Equal(got, bools) {
		t.Errorf("prespawn.RunBoolFlags = %q, run's bool flags are %q", got, bools)
	}
	values, _ = kinds(globalFlags)
	if got := sorted(prespawn.GlobalValueFlags); !slices.Equal(got, values) {
		t.Errorf("prespawn.GlobalValueFlags = %q, the global value flags are %q", got, values)
	}
}

// Package prespawn finds the store in a command line as the --root flag
// does (flag, the last one given; else the environment; else the default),
// so that a run's init step starts from the store's copy of its program.
func TestPrespawnReadsTheCLIRoot(t *testing.T) {
	wd, err := os.Getwd()
	must(t, err)
	t.Setenv(prespawn.RootEnv, "") // restored at the end
	tests := []struct {
		env  string // LAYERCTL_ROOT, unset when empty
		args []string
	}{
		{"", []string{"ps"}},
		{"", []string{"--root", "/srv/a", "ps"}},
		{"", []string{"--root=/srv/b", "run", "--rm", "x"}},
		{"", []string{"-root", "/srv/c", "container", "run", "x"}},
		{"", []string{"--root", "rel/store", "ps"}},
		{"", []string{"--root", "/srv/a", "--log-level", "debug", "--root", "/srv/d", "ps"}},
		{"/srv/env", []string{"ps"}},
		{"/srv/env", []string{"--root", "/srv/flag", "ps"}},
		{"", []string{"--log-level", "debug", "ps", "--root", "/not/global"}},
	}
	for _, tt := range tests {
		if tt.env != "" {
			os.Setenv(prespawn.RootEnv, tt.env)
		} else {
			os.Unsetenv(prespawn.RootEnv)
		}
		var flags []cli.Flag
		for _, f := range globalFlags {
			if sf, ok := f.(*cli.StringFlag); ok {
				c := *sf // Apply writes an environment value into the flag
				f = &c
			}
			flags = append(flags, f)
		}
		var got string
		app := &cli.App{Flags: flags, Commands: []*cli.Command{
			{Name: "ps", SkipFlagParsing: true, Action: func(c *cli.Context) error { got = c.String("root"); return nil }},
			{Name: "run", SkipFlagParsing: true, Action: func(c *cli.Context) error { got = c.String("root"); return nil }},
			{Name: "container", Subcommands: []*cli.Command{
				{Name: "run", SkipFlagParsing: true, Action: func(c *cli.Context) error { got = c.String("root"); return nil }},
			}},
		}}
		must(t, app.Run(append([]string{"layerctl"}, tt.args...)))
		want := got
		if !filepath.IsAbs(want) {
			want = filepath.Join(wd, want)
		}
		if read := prespawn.ReadRoot(tt.args); filepath.Clean(read) != want {
			t.Errorf("env %q, %q: prespawn reads the store %q, the CLI %q", tt.env, tt.args, read, want)
		}
	}
}
