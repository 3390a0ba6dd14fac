package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// progressBars shows one line per layer (bytes read of its blob) on a
// terminal, redrawn in place ten times a second, as docker pull does. Its
// own: a progress-bar library (mpb, with its ANSI and Unicode-width tables)
// cost every start of the binary 0.7 ms of initialisation for the few
// commands that draw bars.
type progressBars struct {
	w    io.Writer
	verb string // "pulling", "pushing", "loading"
	// The terminal's size: no line may wrap, and no more lines than fit
	// may be drawn, or going back up over them to redraw fails.
	width, height int

	mu    sync.Mutex
	bars  []*bar
	byID  map[string]*bar
	lines int // drawn last time, to go back up over

	stop, done chan struct{}
	once       sync.Once
}

type bar struct {
	id          string
	total, read int64 // total -1: unknown
	status      string
}

func newProgressBars(w io.Writer, verb string) *progressBars {
	width, height := 80, 24
	if f, ok := w.(*os.File); ok {
		if c, r, err := term.GetSize(int(f.Fd())); err == nil && c > 0 && r > 0 {
			width, height = c, r
		}
	}
	return startBars(w, verb, width, height, 100*time.Millisecond)
}

func startBars(w io.Writer, verb string, width, height int, every time.Duration) *progressBars {
	b := &progressBars{w: w, verb: verb, width: width, height: height, byID: map[string]*bar{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(b.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				b.draw()
			case <-b.stop:
				b.draw()
				return
			}
		}
	}()
	return b
}

func (b *progressBars) Begin(id string, size int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if size < 0 {
		size = -1
	}
	br := &bar{id: id, total: size}
	b.bars = append(b.bars, br)
	b.byID[id] = br
}

func (b *progressBars) Advance(id string, n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if br := b.byID[id]; br != nil {
		br.read += int64(n)
	}
}

// End closes a layer's line with its status; a layer never begun (it was
// in the store: nothing was fetched) gets no line.
func (b *progressBars) End(id string, status string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if br := b.byID[id]; br != nil {
		br.status = status
	}
}

// Wait draws the last state and stops; safe to call more than once.
func (b *progressBars) Wait() {
	b.once.Do(func() { close(b.stop) })
	<-b.done
}

// draw goes back up over the lines drawn last time and draws the bars.
func (b *progressBars) draw() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.bars) == 0 {
		return
	}
	var s strings.Builder
	if b.lines > 0 {
		fmt.Fprintf(&s, "\x1b[%dA", b.lines)
	}
	// More layers than lines: the first ones, most often the first to
	// end, share one line.
	shown, lines := b.bars, 0
	if room := max(b.height-1, 2); len(shown) > room {
		hidden := shown[:len(shown)-(room-1)]
		shown = shown[len(shown)-(room-1):]
		done := 0
		for _, br := range hidden {
			if br.status != "" {
				done++
			}
		}
		fmt.Fprintf(&s, "\r\x1b[2K%s\n", clip(fmt.Sprintf("%d more layers (%d ended)", len(hidden), done), b.width))
		lines++
	}
	for _, br := range shown {
		s.WriteString("\r\x1b[2K")
		s.WriteString(br.line(b.verb, b.width))
		s.WriteByte('\n')
	}
	b.lines = lines + len(shown)
	io.WriteString(b.w, s.String())
}

// line is a bar's text, under width columns: "ID: pulling [===>   ] 1.2 MiB / 3.4 MiB".
func (br *bar) line(verb string, width int) string {
	head := br.id + ": "
	if br.status != "" {
		return clip(head+br.status, width)
	}
	counts := mib(br.read)
	if br.total >= 0 {
		counts += " / " + mib(br.total)
	}
	text := head + verb + " " + counts
	if room := width - 1 - len(text) - 3; br.total > 0 && room >= 10 {
		n := min(room, 40)
		done := int(min(br.read, br.total) * int64(n) / br.total)
		gauge := strings.Repeat("=", done) + strings.Repeat(" ", n-done)
		if done > 0 && done < n {
			gauge = gauge[:done-1] + ">" + gauge[done:]
		}
		text = head + verb + " [" + gauge + "] " + counts
	}
	return clip(text, width)
}

// clip keeps s (ASCII) within width-1 columns: a line the width of the
// terminal wraps on some terminals.
func clip(s string, width int) string {
	if width > 1 && len(s) > width-1 {
		return s[:width-1]
	}
	return s
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
