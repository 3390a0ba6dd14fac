package main

import (
	"io"
	"sync"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// progressBars shows one bar per layer (bytes read of its blob) on a terminal.
type progressBars struct {
	verb string // "pulling", "pushing"
	p    *mpb.Progress
	mu   sync.Mutex
	bars map[string]*mpb.Bar
	once sync.Once
}

func newProgressBars(w io.Writer, verb string) *progressBars {
	return &progressBars{verb: verb, p: mpb.New(mpb.WithOutput(w), mpb.WithWidth(40)), bars: map[string]*mpb.Bar{}}
}

func (b *progressBars) Begin(id string, size int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if size < 0 {
		size = 0
	}
	b.bars[id] = b.p.AddBar(size,
		mpb.PrependDecorators(decor.Name(id+" "), decor.OnComplete(decor.Name(b.verb), "done   ")),
		mpb.AppendDecorators(decor.CountersKibiByte("% .1f / % .1f")),
	)
}

func (b *progressBars) Advance(id string, n int) {
	b.mu.Lock()
	bar := b.bars[id]
	b.mu.Unlock()
	if bar != nil {
		bar.IncrBy(n)
	}
}

func (b *progressBars) End(id string, status string) {
	b.mu.Lock()
	bar := b.bars[id]
	b.mu.Unlock()
	if bar == nil {
		return // the layer was in the store: nothing was fetched
	}
	if status == "done" {
		bar.SetTotal(-1, true)
	} else {
		bar.Abort(false)
	}
}

// Wait lets the bars draw their last state; safe to call more than once.
func (b *progressBars) Wait() { b.once.Do(b.p.Wait) }
