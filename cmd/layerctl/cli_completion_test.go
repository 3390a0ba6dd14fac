package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// completeBash runs the bash completion script on the words typed (the
// last one being completed) and returns what it offers.
func completeBash(t *testing.T, root string, words ...string) []string {
	t.Helper()
	words = append([]string{"layerctl", "--root", root}, words...)
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = "'" + w + "'"
	}
	script := `source <(layerctl completion bash) || exit 1
complete -p layerctl || exit 1
COMP_WORDS=(` + strings.Join(quoted, " ") + `)
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
_layerctl_complete
printf '%s\n' "${COMPREPLY[@]}"`
	cmd := exec.Command("bash", "-c", script)
	cmd.Env = append(testEnv(), "PATH="+filepath.Dir(binPath)+":"+os.Getenv("PATH"))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bash completion of %q: %v", words, err)
	}
	got := strings.Split(strings.TrimSpace(string(out)), "\n")
	if !strings.HasPrefix(got[0], "complete -o bashdefault -o default -F _layerctl_complete layerctl") {
		t.Fatalf("complete -p: %q", got[0])
	}
	return slices.Sorted(slices.Values(got[1:]))
}

func TestCLIBashCompletion(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not found")
	}
	root, _, _, _ := formatStore(t)
	for _, tc := range []struct {
		words []string
		want  []string
	}{
		{[]string{"im"}, []string{"image", "images", "import"}},
		{[]string{"sys"}, []string{"system"}},
		{[]string{"system", ""}, []string{"df", "h", "help", "prune"}},
		{[]string{"images", "--fi"}, []string{"--filter"}},
		{[]string{"ps", "--"}, []string{"--all", "--filter", "--format", "--help", "--last", "--latest", "--no-trunc", "--quiet"}},
		{[]string{"inspect", "a"}, []string{"app:1", "app:2"}},
		{[]string{"rmi", ""}, []string{"app:1", "app:2", "web:1"}},
		{[]string{"rm", ""}, []string{"one", "two"}},
		{[]string{"inspect", "t"}, []string{"two"}},
	} {
		if got := completeBash(t, root, tc.words...); !slices.Equal(got, tc.want) {
			t.Errorf("completion of %q: %q, want %q", tc.words, got, tc.want)
		}
	}
	// Completion in a store that does not exist offers nothing and makes none.
	missing := filepath.Join(t.TempDir(), "none")
	if got := completeBash(t, missing, "rm", ""); len(got) != 0 {
		t.Errorf("completion without a store: %q", got)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("completion created the store (%v)", err)
	}
}

func TestCLIZshCompletion(t *testing.T) {
	t.Parallel()
	out := mustRun(t, newRoot(t), "completion", "zsh")
	if !strings.HasPrefix(out, "#compdef layerctl") || !strings.Contains(out, "compdef _layerctl layerctl") {
		t.Errorf("completion zsh:\n%s", out)
	}
	if zsh, err := exec.LookPath("zsh"); err == nil {
		if out, err := exec.Command(zsh, "-n", "-c", out).CombinedOutput(); err != nil {
			t.Errorf("zsh -n: %v: %s", err, out)
		}
	}
	_, stderr, code := run(t, newRoot(t), "completion", "fish")
	checkOneLineError(t, stderr, code)
}

// make install puts the binary, the man page (from `make man`, which man
// reads) and the bash completion under DESTDIR/PREFIX; the binary it
// installs has no man page generator.
func TestMakeInstall(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dest := filepath.Join(dir, "dest")
	install := exec.Command("make", "--no-print-directory", "-C", "../..", "install",
		"DESTDIR="+dest, "PREFIX=/opt/lc", "MANDIR="+filepath.Join(dir, "man"), "BIN="+filepath.Join(dir, "layerctl"))
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	for _, f := range []string{"bin/layerctl", "share/man/man8/layerctl.8", "share/bash-completion/completions/layerctl"} {
		if fi, err := os.Stat(filepath.Join(dest, "opt/lc", f)); err != nil || fi.Size() == 0 {
			t.Errorf("make install: %s: %v", f, err)
		}
	}
	page := filepath.Join(dest, "opt/lc/share/man/man8/layerctl.8")
	if _, err := exec.LookPath("man"); err == nil {
		out, err := exec.Command("man", "-l", page).Output()
		if err != nil || !strings.Contains(string(out), "system df") && !strings.Contains(string(out), "pull") {
			t.Errorf("man -l %s: %v\n%s", page, err, out)
		}
	}
	out, _ := exec.Command(filepath.Join(dest, "opt/lc/bin/layerctl"), "man", dir).CombinedOutput()
	if !strings.Contains(string(out), `unknown command "man"`) {
		t.Errorf("the installed binary has a man command: %s", out)
	}
}
