package ns

import (
	"strings"
	"testing"
)

// A failure of the init step's rootfs setup reaches the caller as its own
// reason, not as a broken sync socket.
func TestRunSetupFailureSaysWhy(t *testing.T) {
	requireNS(t)
	src := t.TempDir()
	tests := []struct {
		name   string
		target string
	}{
		{"volume-on-proc-fd", "/proc/self/fd/0"},
		{"volume-under-a-file", "/etc/passwd/x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rootfs := newRootfs(t)
			_, err := Start(Spec{Rootfs: rootfs, Args: []string{"true"},
				Volumes: []Volume{{Source: src, Target: tc.target}}})
			se := startErrorOf(t, err)
			if se.Code != CodeSetup || !strings.Contains(se.Msg, tc.target) {
				t.Errorf("got code %d %q, want %d naming %s", se.Code, se.Msg, CodeSetup, tc.target)
			}
			checkNoMounts(t, rootfs)
		})
	}
}

// An init step whose parent ends before it sends the config (a refused
// command line, an interrupt) exits with CodeSetup and prints nothing: no
// one is left to read it, and the caller's terminal is not written to.
func TestInitStepWithoutConfigIsQuiet(t *testing.T) {
	requireNS(t)
	var out strings.Builder
	sp, err := Spawn(Launch{Net: NetNone, Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatal(err)
	}
	sp.used = true
	sp.cfgW.Close()
	sp.parent.Close()
	code, err := sp.p.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if code != CodeSetup || out.Len() > 0 {
		t.Errorf("exit %d, output %q; want %d and nothing", code, out.String(), CodeSetup)
	}
}
