package image

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/klauspost/readahead"
	digest "github.com/opencontainers/go-digest"

	"github.com/layerctl/layerctl/pkg/layer"
)

// verifyingReader checks a compressed blob's size and digest as it streams.
// A mismatch surfaces as a read error at the end of the blob, so nothing
// built from it is published.
type verifyingReader struct {
	r       io.Reader
	h       hash.Hash // nil: the source checks the digest (sizeCheckingReader)
	n       int64
	want    digest.Digest
	size    int64 // -1 when unknown
	advance func(int)
	checked error
	done    bool
}

func newVerifyingReader(r io.Reader, want digest.Digest, size int64, advance func(int)) *verifyingReader {
	return &verifyingReader{r: r, h: sha256.New(), want: want, size: size, advance: advance}
}

// newSizeCheckingReader checks only the size of a blob whose source checks
// its digest already: go-containerregistry's registry blobs fail their last
// Read on a mismatch. Hashing such a blob again would be a second SHA-256
// pass over every byte of the pull.
func newSizeCheckingReader(r io.Reader, want digest.Digest, size int64, advance func(int)) *verifyingReader {
	return &verifyingReader{r: r, want: want, size: size, advance: advance}
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	if v.done {
		return 0, v.eof()
	}
	n, err := v.r.Read(p)
	if n > 0 {
		if v.h != nil {
			v.h.Write(p[:n])
		}
		v.n += int64(n)
		if v.advance != nil {
			v.advance(n)
		}
		if v.size >= 0 && v.n > v.size {
			return n, fmt.Errorf("blob %s is larger than the %d bytes the manifest says", v.want, v.size)
		}
	}
	if err == io.EOF {
		v.done = true
		return n, v.eof()
	}
	return n, err
}

func (v *verifyingReader) eof() error {
	if v.checked == nil {
		v.checked = io.EOF
		if v.size >= 0 && v.n != v.size {
			v.checked = fmt.Errorf("blob %s: got %d bytes, the manifest says %d", v.want, v.n, v.size)
		} else if v.h != nil {
			if got := digest.NewDigest(digest.SHA256, v.h); got != v.want {
				v.checked = fmt.Errorf("blob has digest %s, the manifest says %s", got, v.want)
			}
		}
	}
	return v.checked
}

// finish reads what the decompressor left (trailing bytes) and reports the
// blob's verdict.
func (v *verifyingReader) finish() error {
	if _, err := io.Copy(io.Discard, v); err != nil {
		return err
	}
	if err := v.eof(); err != io.EOF {
		return err
	}
	return nil
}

// layerStream is an uncompressed layer stream built on a compressed one.
type layerStream struct {
	io.Reader
	verify  *verifyingReader  // nil when the source has no digest to check
	keep    *layer.BlobWriter // the compressed blob as read, kept once verified
	body    io.Closer         // the compressed source (a network body)
	closers []io.Closer       // decompressor and readahead, closed last first
}

// Verify is called by the layer store after a successful extraction.
func (s *layerStream) Verify() error {
	if s.verify == nil {
		return nil
	}
	if err := s.verify.finish(); err != nil {
		return err
	}
	if s.keep != nil {
		return s.keep.Keep()
	}
	return nil
}

// KeptBlob hands the verified compressed blob to the layer store.
func (s *layerStream) KeptBlob() *layer.BlobWriter { return s.keep }

// Close closes the body first: the readahead goroutine may be blocked in a
// read of it (a stalled registry), and the readahead reader's Close waits
// for that goroutine, so closing it first could hang for ever.
func (s *layerStream) Close() error {
	errs := []error{s.body.Close()}
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i].Close())
	}
	if s.keep != nil {
		errs = append(errs, s.keep.Close()) // drops a blob not kept
	}
	return errors.Join(errs...)
}

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// decompress wraps body in the decompressor its first bytes call for (gzip,
// zstd or none), and reads ahead in its own goroutine so that decompressing
// and extracting overlap.
func decompress(body io.ReadCloser, v *verifyingReader) (*layerStream, error) {
	var src io.Reader = body
	s := &layerStream{verify: v, body: body}
	if v != nil {
		// Reading the network, hashing the blob and keeping a copy of it get
		// a goroutine of their own: the decompressor's is the pull's
		// bottleneck.
		fetch := newPrefetchReader(v, 8, 256<<10)
		s.closers = append(s.closers, fetch)
		src = fetch
	}
	br := bufio.NewReaderSize(src, 1<<20)
	magic, _ := br.Peek(4)
	var dec io.Reader
	switch {
	case bytes.HasPrefix(magic, gzipMagic):
		zr, err := gzip.NewReader(br)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("open gzip layer: %w", err)
		}
		zr.Multistream(true)
		dec = zr
		s.closers = append(s.closers, zr)
	case bytes.HasPrefix(magic, zstdMagic):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("open zstd layer: %w", err)
		}
		dec = zr
		s.closers = append(s.closers, closerFunc(func() error { zr.Close(); return nil }))
	default:
		dec = br
	}
	ra, err := readahead.NewReaderSize(dec, 4, 1<<20)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.Reader = ra
	s.closers = append(s.closers, ra)
	return s, nil
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }
