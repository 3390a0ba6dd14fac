package container

import (
	"bufio"
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// A line that reaches the log in several reads is one entry, as in
// Docker's json-file; only a line over 16 KiB is split, and what is still
// open when the streams end is flushed.
func TestLogWriterEntriesAreLines(t *testing.T) {
	long := strings.Repeat("x", maxLogEntry+10)
	cases := []struct {
		name   string
		writes []string
		want   []string
	}{
		{"one write", []string{"a\nb\n"}, []string{"a\n", "b\n"}},
		{"line across writes", []string{"hel", "lo\nwor", "ld\n"}, []string{"hello\n", "world\n"}},
		{"open at the end", []string{"a\n", "no end"}, []string{"a\n", "no end"}},
		{"long line split", []string{long[:100], long[100:] + "\n"}, []string{long[:maxLogEntry], long[maxLogEntry:] + "\n"}},
		{"long open line", []string{long}, []string{long[:maxLogEntry], long[maxLogEntry:]}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			stdio := logStdio(&buf)
			for _, w := range tc.writes {
				if n, err := stdio.Stdout.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("write: %d, %v", n, err)
				}
			}
			if err := stdio.Flush(); err != nil {
				t.Fatal(err)
			}
			var got []string
			sc := bufio.NewScanner(&buf)
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				var e LogEntry
				if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
					t.Fatalf("entry %q: %v", sc.Text(), err)
				}
				if e.Stream != StreamStdout {
					t.Errorf("stream %q", e.Stream)
				}
				got = append(got, e.Log)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("entries %q, want %q", got, tc.want)
			}
		})
	}
}
