package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seccompStatus is a script printing the process's seccomp mode and
// no_new_privs, "MODE NNP".
const seccompStatus = `echo $(sed -n 's/^Seccomp:\t//p; s/^NoNewPrivs:\t//p' /proc/self/status)`

// --security-opt chooses the container's system call filter, and exec
// follows the container's choice, as docker exec does.
func TestCLISecurityOpt(t *testing.T) {
	b := newBox(t)
	profile := filepath.Join(t.TempDir(), "no-mkdir.json")
	if err := os.WriteFile(profile, []byte(`{
		"defaultAction": "SCMP_ACT_ALLOW",
		"syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 28}]
	}`), 0o644); err != nil {
		t.Fatal(err)
	}
	script := seccompStatus + "; mkdir /tmp/d 2>/dev/null && echo mkdir-ok || echo mkdir-refused"
	for _, tc := range []struct {
		name string
		opts []string
		want string // NoNewPrivs and Seccomp (in /proc/self/status order), mkdir
	}{
		{"default", nil, "0 2\nmkdir-ok"},
		{"unconfined", []string{"--security-opt", "seccomp=unconfined"}, "0 0\nmkdir-ok"},
		{"privileged", []string{"--privileged"}, "0 0\nmkdir-ok"},
		{"profile", []string{"--security-opt", "seccomp=" + profile}, "0 2\nmkdir-refused"},
		{"no-new-privileges", []string{"--security-opt", "no-new-privileges"}, "1 2\nmkdir-ok"},
		{"builtin", []string{"--security-opt", "seccomp:builtin", "--security-opt", "no-new-privileges=false"}, "0 2\nmkdir-ok"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{"run", "--rm"}, tc.opts...), busyboxImage, "sh", "-c", script)
			if out := strings.TrimSpace(b.mustRun(t, args...)); out != tc.want {
				t.Errorf("run: %q, want %q", out, tc.want)
			}
			name := "svc-" + tc.name
			b.detach(t, append(append([]string{"--name", name}, tc.opts...), busyboxImage, "sleep", "1000")...)
			if out := strings.TrimSpace(b.mustRun(t, "exec", name, "sh", "-c", script)); out != tc.want {
				t.Errorf("exec: %q, want %q", out, tc.want)
			}
			// docker exec --privileged keeps the container's filter.
			if out := strings.TrimSpace(b.mustRun(t, "exec", "--privileged", name, "sh", "-c", seccompStatus)); out != strings.Split(tc.want, "\n")[0] {
				t.Errorf("exec --privileged: %q, want %q", out, strings.Split(tc.want, "\n")[0])
			}
			b.mustRun(t, "rm", "-f", name)
		})
	}
}

// A bad --security-opt is one line and exit 125 before anything starts:
// no container is left.
func TestCLISecurityOptErrors(t *testing.T) {
	b := newBox(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALOW"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	notJSON := filepath.Join(dir, "profile.txt")
	if err := os.WriteFile(notJSON, []byte("allow everything\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, opt string
		words     []string
	}{
		{"missing file", "seccomp=" + filepath.Join(dir, "none.json"), []string{"none.json", "no such file"}},
		{"bad action", "seccomp=" + bad, []string{"bad.json", `unknown action "SCMP_ACT_ALOW"`}},
		{"not json", "seccomp=" + notJSON, []string{"profile.txt", "invalid character"}},
		{"empty", "seccomp=", []string{"seccomp", "want unconfined"}},
		{"apparmor", "apparmor=unconfined", []string{"apparmor", "not supported"}},
		{"no value", "seccomp", []string{`"seccomp"`}},
		{"bad bool", "no-new-privileges=maybe", []string{"no-new-privileges", "maybe"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := b.run(t, "run", "--rm", "--name", "never", "--security-opt", tc.opt, busyboxImage, "true")
			if code != 125 || out != "" {
				t.Errorf("exit %d, stdout %q; want 125 and nothing", code, out)
			}
			checkOneLine(t, errOut, append([]string{"run: ", "--security-opt"}, tc.words...)...)
			if _, ok := b.find(t, "never"); ok {
				t.Errorf("a container was made")
			}
		})
	}
}
