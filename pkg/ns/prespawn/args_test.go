package prespawn

import (
	"slices"
	"testing"
)

// ReadRun reads a run's network, terminal, stdin and background flags as
// urfave/cli does, past the global flags, and gives up on what it does not
// know.
func TestReadRun(t *testing.T) {
	cases := []struct {
		args []string
		want Reading
		ok   bool
	}{
		{[]string{"run", "busybox", "true"}, Reading{Net: "none"}, true},
		{[]string{"--root", "/s", "--log-level=debug", "run", "busybox"}, Reading{Net: "none"}, true},
		{[]string{"container", "run", "busybox"}, Reading{Net: "none"}, true},
		{[]string{"run", "--rm", "-it", "busybox", "sh"}, Reading{Net: "none", TTY: true, Interactive: true}, true},
		{[]string{"run", "-d", "--name", "c", "busybox"}, Reading{Net: "none", Detach: true}, true},
		{[]string{"run", "--net", "host", "busybox"}, Reading{Net: "host"}, true},
		{[]string{"run", "--network=host", "-e", "-t", "busybox"}, Reading{Net: "host"}, true}, // -t is -e's value
		{[]string{"run", "--tty=false", "-i", "busybox"}, Reading{Net: "none", Interactive: true}, true},
		{[]string{"run", "-ie", "A=1", "busybox"}, Reading{Net: "none", Interactive: true}, true},
		{[]string{"run", "-", "sh"}, Reading{Net: "none"}, true}, // "-" is an argument
		{[]string{"run", "--tty=maybe", "busybox"}, Reading{}, false},
		{[]string{"run", "--rm", "--", "busybox"}, Reading{}, false},
		{[]string{"run", "--no-such-flag", "busybox"}, Reading{}, false},
		{[]string{"run", "--rm"}, Reading{}, false},
		{[]string{"run", "-e"}, Reading{}, false},
		{[]string{"--root", "run", "ps"}, Reading{}, false}, // "run" is --root's value
		{[]string{"create", "busybox"}, Reading{}, false},
		{[]string{"--", "run", "busybox"}, Reading{}, false},
		{nil, Reading{}, false},
	}
	for _, c := range cases {
		got, ok := ReadRun(c.args)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("ReadRun(%q) = %+v, %v; want %+v, %v", c.args, got, ok, c.want, c.ok)
		}
	}
}

func FuzzReadRun(f *testing.F) {
	f.Add("run\x00--rm\x00-it\x00busybox")
	f.Add("--root\x00/s\x00container\x00run\x00-e=A\x00--net=host\x00x")
	f.Fuzz(func(t *testing.T, cmdline string) {
		args := splitNUL([]byte(cmdline))
		if _, ok := ReadRun(args); ok && !slices.Contains(args, "run") {
			t.Errorf("ReadRun(%q) read a run", args)
		}
	})
}

func TestFDPath(t *testing.T) {
	for fd, want := range map[int]string{0: "/proc/self/fd/0", 7: "/proc/self/fd/7", 100: "/proc/self/fd/100", 1234: "/proc/self/fd/1234"} {
		if got := fdPath(fd); got != want {
			t.Errorf("fdPath(%d) = %q, want %q", fd, got, want)
		}
	}
}
