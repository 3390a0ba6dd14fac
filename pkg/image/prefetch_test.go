package image

import (
	"bytes"
	"errors"
	"io"
	"math/rand"
	"testing"
	"testing/iotest"
	"time"
)

// The stream comes through whole and in order, whatever the sizes of the
// source's reads and of the reader's.
func TestPrefetchReaderStream(t *testing.T) {
	data := make([]byte, 3<<20+17)
	rand.New(rand.NewSource(1)).Read(data)
	for _, tc := range []struct {
		name string
		src  func() io.Reader
	}{
		{"whole reads", func() io.Reader { return bytes.NewReader(data) }},
		{"one byte a read", func() io.Reader { return iotest.OneByteReader(bytes.NewReader(data[:4096])) }},
		{"half reads", func() io.Reader { return iotest.HalfReader(bytes.NewReader(data)) }},
		{"data with EOF", func() io.Reader { return iotest.DataErrReader(bytes.NewReader(data)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := data
			if tc.name == "one byte a read" {
				want = data[:4096]
			}
			p := newPrefetchReader(tc.src(), 4, 64<<10)
			defer p.Close()
			if err := iotest.TestReader(p, want); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A read's bytes and its error both reach the reader, in that order.
func TestPrefetchReaderError(t *testing.T) {
	bad := errors.New("connection reset")
	p := newPrefetchReader(io.MultiReader(bytes.NewReader([]byte("abc")), iotest.ErrReader(bad)), 2, 16)
	defer p.Close()
	got, err := io.ReadAll(p)
	if string(got) != "abc" || !errors.Is(err, bad) {
		t.Fatalf("got %q, %v; want \"abc\", %v", got, err, bad)
	}
	if n, err := p.Read(make([]byte, 4)); n != 0 || !errors.Is(err, bad) {
		t.Fatalf("read after the error: %d, %v", n, err)
	}
}

// stallingReader gives its bytes, then blocks until released.
type stallingReader struct {
	data    []byte
	release chan struct{}
}

func (s *stallingReader) Read(b []byte) (int, error) {
	if len(s.data) == 0 {
		<-s.release
		return 0, io.ErrClosedPipe
	}
	n := copy(b, s.data)
	s.data = s.data[n:]
	return n, nil
}

// Bytes read before a source stalls reach the reader at once (a read-ahead
// of full buffers would hold them), and Close returns once the stalled read
// is released, as closing a network body does.
func TestPrefetchReaderStall(t *testing.T) {
	src := &stallingReader{data: []byte("first bytes"), release: make(chan struct{})}
	p := newPrefetchReader(src, 4, 1<<20)
	got := make(chan string, 1)
	go func() {
		b := make([]byte, 64)
		n, _ := p.Read(b)
		got <- string(b[:n])
	}()
	select {
	case s := <-got:
		if s != "first bytes" {
			t.Fatalf("read %q", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the bytes before the stall never came")
	}
	closed := make(chan struct{})
	go func() { p.Close(); close(closed) }()
	close(src.release)
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return after the stalled read ended")
	}
}

// Close returns while the goroutine waits for buffers nobody reads.
func TestPrefetchReaderCloseUnread(t *testing.T) {
	p := newPrefetchReader(bytes.NewReader(make([]byte, 1<<20)), 2, 1024)
	closed := make(chan struct{})
	go func() { p.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close hung")
	}
	if _, err := p.Read(make([]byte, 1)); err == nil {
		// Reads after Close may hand on what was fetched; they must end.
		if _, err := io.Copy(io.Discard, p); err == nil {
			t.Fatal("reads after Close never ended")
		}
	}
}
