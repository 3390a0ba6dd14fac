package container_test

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/layerctl/layerctl/pkg/container"
)

// A detached container's stdout and stderr are kept apart with their
// times; Logs prints the tail of them, with timestamps, and follows a
// running container until it ends.
func TestLogsStreamsTailFollow(t *testing.T) {
	s := openFacade(t)
	pullBusybox(t, s)
	ctx := t.Context()

	st := createRun(t, s, "talk", container.RunConfig{Cmd: []string{"sh", "-c",
		// Pauses where the stream changes: two pipes written at once
		// have no order between them.
		"echo o1; echo e1 >&2; echo o2; sleep 0.2; echo e2 >&2; sleep 0.2; printf open"}})
	if err := s.StartDetached(st.ID, monitorArgv(s.Root(), st.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WaitExit(ctx, st.ID); err != nil {
		t.Fatal(err)
	}
	stamp := `\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z `
	for _, tc := range []struct {
		name             string
		o                container.LogOptions
		wantOut, wantErr string // regexps
	}{
		{"all", container.LogOptions{Tail: -1}, `^o1\no2\nopen$`, `^e1\ne2\n$`},
		{"tail 2", container.LogOptions{Tail: 2}, `^open$`, `^e2\n$`},
		{"tail 0", container.LogOptions{Tail: 0}, `^$`, `^$`},
		{"timestamps", container.LogOptions{Tail: -1, Timestamps: true},
			`^` + stamp + `o1\n` + stamp + `o2\n` + stamp + `open$`, `^` + stamp + `e1\n` + stamp + `e2\n$`},
	} {
		var out, errOut bytes.Buffer
		if err := s.Logs(ctx, st.ID, tc.o, &out, &errOut); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		if !regexp.MustCompile(tc.wantOut).MatchString(out.String()) || !regexp.MustCompile(tc.wantErr).MatchString(errOut.String()) {
			t.Errorf("%s: stdout %q stderr %q, want %s and %s", tc.name, out.String(), errOut.String(), tc.wantOut, tc.wantErr)
		}
	}

	// Follow: what comes while it runs, and the end when it ends.
	slow := createRun(t, s, "slow", container.RunConfig{Cmd: []string{"sh", "-c", "echo a; sleep 0.5; echo b >&2; sleep 0.5; echo c"}})
	if err := s.StartDetached(slow.ID, monitorArgv(s.Root(), slow.ID)); err != nil {
		t.Fatal(err)
	}
	var out, errOut strings.Builder
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.Logs(fctx, slow.ID, container.LogOptions{Follow: true, Tail: -1}, &out, &errOut); err != nil {
		t.Fatalf("follow: %v", err)
	}
	if out.String() != "a\nc\n" || errOut.String() != "b\n" {
		t.Errorf("follow: stdout %q stderr %q", out.String(), errOut.String())
	}

	// A container that never ran detached has no log.
	none := createRun(t, s, "none", container.RunConfig{Cmd: []string{"true"}})
	if err := s.Logs(ctx, none.ID, container.LogOptions{Tail: -1, Follow: true}, &out, &errOut); err != nil {
		t.Errorf("logs of a container never started: %v", err)
	}
}
