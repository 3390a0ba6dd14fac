package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// commandNames lists the commands the binary's help shows.
func commandNames(t *testing.T) []string {
	t.Helper()
	out := mustRun(t, newRoot(t), "help")
	_, list, ok := strings.Cut(out, "COMMANDS:\n")
	if !ok {
		t.Fatalf("help has no COMMANDS section:\n%s", out)
	}
	var names []string
	for _, line := range strings.Split(list, "\n") {
		if !strings.HasPrefix(line, "   ") {
			break
		}
		n := strings.TrimSuffix(strings.Fields(line)[0], ",")
		if n != "help" {
			names = append(names, n)
		}
	}
	if len(names) < 8 {
		t.Fatalf("help lists only %v", names)
	}
	return names
}

// An unknown command is one line on stderr, exit 1 (a layerctl error), no
// help on stdout.
func TestCLIUnknownCommand(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"command", []string{"foo"}},
		{"command with args", []string{"foo", "bar", "--bogus"}},
		{"help for it", []string{"help", "foo"}},
		{"after global flags", []string{"--log-level", "info", "foo"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := newRoot(t)
			stdout, stderr, code := run(t, root, tc.args...)
			if want := "layerctl: unknown command \"foo\"\n"; stderr != want {
				t.Errorf("stderr %q, want %q", stderr, want)
			}
			if code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			if _, err := os.Stat(root); !os.IsNotExist(err) {
				t.Errorf("an unknown command created the store: %v", err)
			}
		})
	}
}

// A usage error in any command is one line on stderr naming the command,
// exit 1, and no help on stdout.
func TestCLIUsageErrors(t *testing.T) {
	t.Parallel()
	type usageCase struct {
		name string
		args []string
		want string // the whole stderr line
	}
	cases := []usageCase{
		{"global unknown flag", []string{"--bogus", "images"}, "layerctl: flag provided but not defined: -bogus"},
		{"pull flag without value", []string{"pull", "--platform"}, "layerctl: pull: flag needs an argument: -platform"},
	}
	for _, cmd := range commandNames(t) {
		cases = append(cases, usageCase{cmd + " unknown flag", []string{cmd, "--bogus", "x"},
			"layerctl: " + cmd + ": flag provided but not defined: -bogus"})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := newRoot(t)
			stdout, stderr, code := run(t, root, tc.args...)
			checkOneLineError(t, stderr, code)
			if got := strings.TrimSuffix(stderr, "\n"); got != tc.want {
				t.Errorf("stderr %q, want %q", got, tc.want)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing (no help on a usage error)", stdout)
			}
			if _, err := os.Stat(root); !os.IsNotExist(err) {
				t.Errorf("a usage error created the store: %v", err)
			}
		})
	}
}

// pull SRC NAME with an invalid NAME fails before anything is read or
// stored: one line, exit 1, no store created.
func TestCLIPullBadName(t *testing.T) {
	t.Parallel()
	dir := writeLayout(t, newImage(t, baseLayer(t, 9)), "latest")
	for _, bad := range []string{"UPPER:tag", "a b", "x:", "", "a/", "app@sha256:" + strings.Repeat("0", 64)} {
		t.Run(bad, func(t *testing.T) {
			root := newRoot(t)
			stdout, stderr, code := run(t, root, "pull", "oci:"+dir, bad)
			checkOneLineError(t, stderr, code)
			if !strings.Contains(stderr, "image name") {
				t.Errorf("stderr %q does not say the name is the problem", stderr)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			if _, err := os.Stat(filepath.Join(root, "store.json")); !os.IsNotExist(err) {
				t.Errorf("a refused pull created the store: %v", err)
			}
		})
	}
	// The same pull with a good name works.
	root := newRoot(t)
	pullID(t, root, "oci:"+dir, "good:1")
}
