package image

import (
	"errors"
	"io"
	"sync"
)

// prefetchReader reads its source on a goroutine of its own, up to a few
// reads ahead, and hands each read on as it came: unlike a read-ahead of
// full buffers, the bytes of a slow source reach the reader at once.
type prefetchReader struct {
	ready chan prefetched // reads done, in order
	free  chan []byte     // buffers to read into
	stop  chan struct{}   // closed by Close
	done  chan struct{}   // closed when the goroutine returns
	once  sync.Once

	cur    prefetched // being handed on
	unread []byte     // what is left of cur.b
	err    error      // the source's error, once every byte before it went
}

type prefetched struct {
	buf []byte // the buffer, back to free once read
	b   []byte // what the read gave
	err error
}

// newPrefetchReader reads src ahead into buffers buffers of size bytes.
func newPrefetchReader(src io.Reader, buffers, size int) *prefetchReader {
	p := &prefetchReader{
		ready: make(chan prefetched, buffers),
		free:  make(chan []byte, buffers),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	for range buffers {
		p.free <- make([]byte, size)
	}
	go p.fetch(src)
	return p
}

func (p *prefetchReader) fetch(src io.Reader) {
	defer close(p.done)
	defer close(p.ready) // a Read after Close ends
	for {
		var buf []byte
		select {
		case buf = <-p.free:
		case <-p.stop:
			return
		}
		n, err := src.Read(buf)
		if n == 0 && err == nil {
			p.free <- buf // a source may read nothing now and then
			continue
		}
		select {
		case p.ready <- prefetched{buf: buf, b: buf[:n], err: err}:
		case <-p.stop:
			return
		}
		if err != nil {
			return
		}
	}
}

func (p *prefetchReader) Read(b []byte) (int, error) {
	for len(p.unread) == 0 {
		if p.err != nil {
			return 0, p.err
		}
		if p.cur.buf != nil {
			p.free <- p.cur.buf // room for it: it came from there
			p.cur = prefetched{}
		}
		next, ok := <-p.ready
		if !ok {
			return 0, errPrefetchClosed
		}
		p.cur, p.unread, p.err = next, next.b, next.err
	}
	n := copy(b, p.unread)
	p.unread = p.unread[n:]
	return n, nil
}

var errPrefetchClosed = errors.New("read after close")

// Close stops the goroutine and waits for it: close the source first if
// the goroutine may be blocked reading it.
func (p *prefetchReader) Close() error {
	p.once.Do(func() { close(p.stop) })
	<-p.done
	return nil
}
