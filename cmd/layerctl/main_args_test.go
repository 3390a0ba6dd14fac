package main

import (
	"slices"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/layerctl/layerctl/pkg/container"
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

// readRunFlags reads run's network, terminal, stdin and background flags
// as urfave/cli does, and gives up on what it does not know.
func TestReadRunFlags(t *testing.T) {
	none := container.NetNone
	cases := []struct {
		args []string
		want earlyRun
		ok   bool
	}{
		{[]string{"busybox", "true"}, earlyRun{network: none}, true},
		{[]string{"--rm", "-it", "busybox", "sh"}, earlyRun{network: none, tty: true, interactive: true}, true},
		{[]string{"-d", "--name", "c", "busybox"}, earlyRun{network: none, detach: true}, true},
		{[]string{"--net", "host", "busybox"}, earlyRun{network: "host"}, true},
		{[]string{"--network=host", "-e", "-t", "busybox"}, earlyRun{network: "host"}, true}, // -t is -e's value
		{[]string{"--tty=false", "-i", "busybox"}, earlyRun{network: none, interactive: true}, true},
		{[]string{"-ie", "A=1", "busybox"}, earlyRun{network: none, interactive: true}, true},
		{[]string{"--rm", "--", "busybox"}, earlyRun{network: none}, false},
		{[]string{"--no-such-flag", "busybox"}, earlyRun{network: none}, false},
		{[]string{"--rm"}, earlyRun{network: none}, false},
		{[]string{"-e"}, earlyRun{network: none}, false},
	}
	for _, c := range cases {
		got, ok := readRunFlags(c.args)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("readRunFlags(%q) = %+v, %v; want %+v, %v", c.args, got, ok, c.want, c.ok)
		}
	}
}
