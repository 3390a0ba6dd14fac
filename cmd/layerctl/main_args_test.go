package main

import "testing"

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
