package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

// The bars draw a line per begun layer, go back up over them at each
// redraw, end with each layer's status, and never wrap the terminal.
func TestProgressBars(t *testing.T) {
	// The ticker never fires: the test draws, then Wait does (after
	// which out is read), so the two never write out at once.
	var out bytes.Buffer
	b := startBars(&out, "pulling", 60, 20, time.Hour)
	b.Begin("aaaaaaaaaaaa", 4<<20)
	b.Begin("bbbbbbbbbbbb", -1)
	b.End("cccccccccccc", "exists") // never begun: no line
	b.Advance("aaaaaaaaaaaa", 1<<20)
	b.Advance("bbbbbbbbbbbb", 3<<20)
	b.draw()
	first := out.String()
	lines := strings.Split(strings.TrimSuffix(first, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("first frame has %d lines, want 2: %q", len(lines), first)
	}
	for _, want := range []string{"aaaaaaaaaaaa: pulling [", "] 1.0 MiB / 4.0 MiB", "bbbbbbbbbbbb: pulling 3.0 MiB"} {
		if !strings.Contains(first, want) {
			t.Errorf("first frame lacks %q: %q", want, first)
		}
	}
	b.End("aaaaaaaaaaaa", "done")
	b.End("bbbbbbbbbbbb", "failed")
	b.Wait()
	b.Wait()
	last := strings.TrimPrefix(out.String(), first)
	if !strings.HasPrefix(last, "\x1b[2A") {
		t.Errorf("the redraw does not go back up over the 2 lines: %q", last)
	}
	for _, want := range []string{"aaaaaaaaaaaa: done\n", "bbbbbbbbbbbb: failed\n"} {
		if !strings.Contains(last, want) {
			t.Errorf("last frame lacks %q: %q", want, last)
		}
	}
	for _, l := range strings.Split(out.String(), "\n") {
		if l = strings.TrimPrefix(strings.TrimPrefix(l, "\x1b[2A"), "\r\x1b[2K"); len(l) > 59 {
			t.Errorf("a line of %d columns on a terminal of 60: %q", len(l), l)
		}
	}
}

// A narrow terminal gets the counters without a gauge, clipped.
func TestProgressBarNarrow(t *testing.T) {
	br := &bar{id: "aaaaaaaaaaaa", total: 4 << 20, read: 1 << 20}
	if got := br.line("pulling", 40); strings.Contains(got, "[") || len(got) > 39 {
		t.Errorf("line on 40 columns = %q", got)
	}
	if got := br.line("pulling", 200); !strings.Contains(got, "[=========>") {
		t.Errorf("line on 200 columns = %q, want a 40-column gauge a quarter full", got)
	}
}

// More layers than the terminal has lines: the first ones share a line, so
// that going back up over the bars never leaves the screen.
func TestProgressBarsFitTheTerminal(t *testing.T) {
	var out bytes.Buffer
	b := startBars(&out, "pulling", 80, 6, time.Hour)
	for i := range 8 {
		b.Begin(fmt.Sprintf("layer%07d", i), 1<<20)
	}
	b.End("layer0000000", "done")
	b.draw()
	b.draw()
	b.Wait()
	frames := strings.Split(out.String(), "\x1b[5A")
	if len(frames) != 3 {
		t.Fatalf("%d redraws going up 5 lines, want 2: %q", len(frames)-1, out.String())
	}
	last := strings.Split(strings.TrimSuffix(frames[2], "\n"), "\n")
	if len(last) != 5 || !strings.Contains(last[0], "4 more layers (1 ended)") || !strings.Contains(last[4], "layer0000007: pulling") {
		t.Errorf("last frame %q, want 5 lines: the first 4 layers summed up, then layers 4 to 7", last)
	}
}
