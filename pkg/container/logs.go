package container

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"sync"
	"time"
)

// A detached container's log (LogPath) is Docker's json-file format: one
// JSON object per line, {"log": TEXT, "stream": "stdout"|"stderr",
// "time": RFC 3339}, so that stdout and stderr stay apart and each line
// keeps when it came. What the monitor itself says (its own failures) is
// a plain line among them, shown on stderr. A foreground run and start -a
// keep no log: their output went to the caller, and a terminal or the
// caller's own files are handed to the process as they are.

// LogEntry is one line of a container's log.
type LogEntry struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

// Log streams.
const (
	StreamStdout = "stdout"
	StreamStderr = "stderr"
)

// maxLogEntry splits a long line, as Docker's 16 KiB.
const maxLogEntry = 16 << 10

// logWriter writes what one stream of the process gives as log entries,
// one per line, as Docker's json-file does: a line that comes in several
// reads waits for its end (up to maxLogEntry, then it is split), and what
// is still open when the stream ends is flushed as an entry of its own.
// Entries of both streams go to one file, each write of them in one write
// (appended: lines never interleave).
type logWriter struct {
	mu     *sync.Mutex
	f      io.Writer
	stream string
	open   []byte // the start of a line whose end has not come yet
}

// logStdio is the Stdio of a detached container: its two streams, apart,
// into the log f, and the lines left open flushed once the streams ended.
func logStdio(f io.Writer) Stdio {
	var mu sync.Mutex
	out, errs := &logWriter{mu: &mu, f: f, stream: StreamStdout}, &logWriter{mu: &mu, f: f, stream: StreamStderr}
	return Stdio{Stdout: out, Stderr: errs, Flush: func() error { return errors.Join(out.flush(), errs.flush()) }}
}

func (w *logWriter) Write(p []byte) (int, error) {
	rest := p
	if len(w.open) > 0 {
		rest = append(w.open, p...)
		w.open = nil
	}
	var out []byte
	for len(rest) > 0 {
		n := bytes.IndexByte(rest, '\n') + 1
		if n == 0 && len(rest) < maxLogEntry {
			w.open = bytes.Clone(rest)
			break
		}
		if n == 0 || n > maxLogEntry {
			n = maxLogEntry
		}
		out = w.entry(out, rest[:n])
		rest = rest[n:]
	}
	if err := w.write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (w *logWriter) entry(out, text []byte) []byte {
	line, _ := json.Marshal(LogEntry{Log: string(text), Stream: w.stream, Time: time.Now().UTC()})
	return append(append(out, line...), '\n')
}

func (w *logWriter) write(out []byte) error {
	if len(out) == 0 {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	_, err := w.f.Write(out)
	return err
}

func (w *logWriter) flush() error {
	if len(w.open) == 0 {
		return nil
	}
	out := w.entry(nil, w.open)
	w.open = nil
	return w.write(out)
}

// LogOptions choose what Logs prints.
type LogOptions struct {
	Follow     bool // go on while the container runs
	Tail       int  // only the last Tail entries; < 0: all
	Timestamps bool // each entry prefixed by its time (RFC 3339, nanoseconds)
	// Since and Until keep the entries written in [Since, Until]; zero
	// leaves that end open. Tail counts the entries kept.
	Since, Until time.Time
}

// Logs prints a container's log: its stdout entries to stdout, its
// stderr entries to stderr. A container never started detached has none.
func (c *Store) Logs(ctx context.Context, ref string, o LogOptions, stdout, stderr io.Writer) error {
	s, err := c.Resolve(ref)
	if err != nil {
		return err
	}
	f, err := os.Open(c.LogPath(s.ID))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	p := logPrinter{o: o, stdout: stdout, stderr: stderr}
	r := bufio.NewReader(f)
	partial, err := p.tail(r)
	if err != nil || !o.Follow {
		return err
	}
	var dead time.Time
	for {
		line, err := r.ReadBytes('\n')
		partial = append(partial, line...)
		if err == nil {
			if !p.inTime(partial) {
				partial = partial[:0]
				continue
			}
			if err := p.print(partial); err != nil {
				return err
			}
			partial = partial[:0]
			continue
		}
		if err != io.EOF {
			return err
		}
		if !c.logging(s.ID, &dead) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// logging tells whether a container's log may still grow: its process
// runs, or ended a moment ago and its monitor has not recorded it yet (it
// writes the last output first). dead keeps when the process was first
// seen gone.
func (c *Store) logging(id string, dead *time.Time) bool {
	s, err := c.Get(id)
	if err != nil || s.Pid == 0 {
		return false
	}
	if c.alive(s) {
		return true
	}
	if dead.IsZero() {
		*dead = time.Now()
	}
	return time.Since(*dead) < endGrace
}

// logPrinter prints log lines to the stream each names.
type logPrinter struct {
	o              LogOptions
	stdout, stderr io.Writer
}

// tail prints the complete lines r has now (the last o.Tail of them) and
// returns the start of a line still being written, for a follow to finish.
func (p logPrinter) tail(r *bufio.Reader) ([]byte, error) {
	var ring [][]byte
	var partial []byte
	for {
		line, err := r.ReadBytes('\n')
		if err == io.EOF {
			partial = line
			break
		}
		if err != nil {
			return nil, err
		}
		if !p.inTime(line) {
			continue
		}
		if p.o.Tail < 0 {
			if err := p.print(line); err != nil {
				return nil, err
			}
			continue
		}
		ring = append(ring, line)
		if len(ring) > p.o.Tail {
			ring = ring[1:]
		}
	}
	for _, line := range ring {
		if err := p.print(line); err != nil {
			return nil, err
		}
	}
	return partial, nil
}

// inTime tells whether a log line was written in [Since, Until]; the
// monitor's own lines, which carry no time, always are.
func (p logPrinter) inTime(line []byte) bool {
	if p.o.Since.IsZero() && p.o.Until.IsZero() {
		return true
	}
	var e LogEntry
	if json.Unmarshal(line, &e) != nil || e.Stream == "" {
		return true
	}
	return !e.Time.Before(p.o.Since) && (p.o.Until.IsZero() || !e.Time.After(p.o.Until))
}

func (p logPrinter) print(line []byte) error {
	var e LogEntry
	if json.Unmarshal(line, &e) != nil || e.Stream == "" {
		// The monitor's own words, as it wrote them.
		_, err := p.stderr.Write(line)
		return err
	}
	w := p.stdout
	if e.Stream == StreamStderr {
		w = p.stderr
	}
	text := e.Log
	if p.o.Timestamps {
		text = e.Time.Format(time.RFC3339Nano) + " " + text
	}
	_, err := io.WriteString(w, text)
	return err
}
