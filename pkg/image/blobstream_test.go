package image

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	digest "github.com/opencontainers/go-digest"
)

// stallingBody serves data, then blocks in Read (a stalled registry) until
// it is closed.
type stallingBody struct {
	data    []byte
	blocked chan struct{} // closed once a Read blocks
	closed  chan struct{}
	once    sync.Once
	bOnce   sync.Once
}

func newStallingBody(data []byte) *stallingBody {
	return &stallingBody{data: data, blocked: make(chan struct{}), closed: make(chan struct{})}
}

func (b *stallingBody) Read(p []byte) (int, error) {
	if len(b.data) > 0 {
		n := copy(p, b.data)
		b.data = b.data[n:]
		return n, nil
	}
	b.bOnce.Do(func() { close(b.blocked) })
	<-b.closed
	return 0, errors.New("read on closed body")
}

func (b *stallingBody) Close() error {
	b.once.Do(func() { close(b.closed) })
	return nil
}

// Closing a layer stream whose body has stalled returns at once: the body is
// closed before the readahead reader, whose Close waits for its goroutine,
// which is blocked reading the body.
func TestLayerStreamCloseStalledBody(t *testing.T) {
	raw := make([]byte, 4<<20)
	rand.Read(raw)
	var gz, zs bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	enc, err := zstd.NewWriter(&zs)
	if err != nil {
		t.Fatal(err)
	}
	enc.Write(raw)
	enc.Close()

	for _, tc := range []struct {
		name   string
		blob   []byte
		verify bool
	}{
		{"plain", raw, false},
		{"gzip", gz.Bytes(), false},
		{"gzip verified", gz.Bytes(), true},
		{"zstd", zs.Bytes(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := newStallingBody(tc.blob[:len(tc.blob)/2])
			var v *verifyingReader
			if tc.verify {
				v = newVerifyingReader(body, digest.FromBytes(tc.blob), int64(len(tc.blob)), nil)
			}
			s, err := decompress(body, v)
			if err != nil {
				t.Fatal(err)
			}
			// Reading goes on in the readahead goroutine while the test
			// reads nothing; wait until it blocks in the body.
			select {
			case <-body.blocked:
			case <-time.After(10 * time.Second):
				t.Fatal("the stream never reached the stall")
			}
			done := make(chan error, 1)
			go func() { done <- s.Close() }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				body.Close() // let the test end
				t.Fatal("Close hangs on a stalled body")
			}
			if _, err := io.ReadAll(s); err == nil {
				t.Error("reading a closed stream to its end gave no error")
			}
		})
	}
}

// A size-checking reader (for blobs whose source checks the digest) still
// holds a blob to the manifest's size, and hashes nothing itself; a
// verifying reader checks both.
func TestBlobReaderChecks(t *testing.T) {
	blob := []byte("a compressed blob")
	right, wrong := digest.FromBytes(blob), digest.FromString("another blob")
	for _, tc := range []struct {
		name    string
		newR    func(io.Reader, digest.Digest, int64, func(int)) *verifyingReader
		want    digest.Digest
		size    int64
		wantErr string // "" none
	}{
		{"verifying: all right", newVerifyingReader, right, int64(len(blob)), ""},
		{"verifying: wrong digest", newVerifyingReader, wrong, int64(len(blob)), "blob has digest"},
		{"verifying: short", newVerifyingReader, right, int64(len(blob)) + 1, "the manifest says"},
		{"size only: all right", newSizeCheckingReader, right, int64(len(blob)), ""},
		{"size only: digest left to the source", newSizeCheckingReader, wrong, int64(len(blob)), ""},
		{"size only: short", newSizeCheckingReader, right, int64(len(blob)) + 1, "the manifest says"},
		{"size only: long", newSizeCheckingReader, right, int64(len(blob)) - 1, "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.newR(bytes.NewReader(blob), tc.want, tc.size, nil)
			_, err := io.Copy(io.Discard, v)
			if err == nil {
				err = v.finish()
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}
