package build

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/layerctl/layerctl/pkg/container"
)

// Progress lines follow BuildKit's plain output: "#N [stage i/n] INSTR",
// the step's output lines, then "#N DONE 0.1s".

func (b *builder) progress(st *stage, i, n int, instr string) {
	label := fmt.Sprintf("%d/%d", i, n)
	if st.name != "" {
		label = st.name + " " + label
	}
	fmt.Fprintf(b.opts.Progress, "#%d [%s] %s\n", b.step, label, instr)
}

func (b *builder) done(start time.Time) {
	fmt.Fprintf(b.opts.Progress, "#%d DONE %.1fs\n", b.step, time.Since(start).Seconds())
}

// stepOutput prefixes a RUN's output lines with the step number and the
// time since the step began.
func (b *builder) stepOutput() *lineWriter {
	return &lineWriter{b: b, start: time.Now()}
}

type lineWriter struct {
	b     *builder
	start time.Time
	buf   bytes.Buffer
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf.Write(p)
	for {
		i := bytes.IndexByte(w.buf.Bytes(), '\n')
		if i < 0 {
			return len(p), nil
		}
		w.line(w.buf.Next(i + 1))
	}
}

func (w *lineWriter) line(l []byte) {
	fmt.Fprintf(w.b.opts.Progress, "#%d %.3f %s", w.b.step, time.Since(w.start).Seconds(), l)
}

// Flush writes a last line that had no newline.
func (w *lineWriter) Flush() {
	if w.buf.Len() > 0 {
		w.line(append(w.buf.Bytes(), '\n'))
		w.buf.Reset()
	}
}

func (b *builder) clamp() time.Time {
	if b.opts.Epoch != nil {
		return *b.opts.Epoch
	}
	return time.Time{}
}

func isNotFound(err error) bool { return errors.Is(err, container.ErrNotFound) }

func pullOptions() container.PullOptions { return container.PullOptions{} }
