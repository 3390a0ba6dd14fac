package layer

import (
	"bytes"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"

	"github.com/vbatts/tar-split/archive/tar"
)

// maxHeaderBytes bounds what one entry's headers (PAX records, long names,
// a sparse map) may take: the tar reader caps each at 1 MiB but not how
// many come in a row.
const maxHeaderBytes = 16 << 20

// maxSparseRegions bounds the regions recorded for one sparse file, about
// what the tar reader's 1 MiB cap on a sparse map allows.
const maxSparseRegions = 1 << 18

// streamTap sits between the layer stream and the tar reader, which reads it
// unbuffered. It keeps the bytes read for headers, to record as tar-split
// segments, and checksums the bytes of each entry's payload as the stream
// carries them: for a sparse file, the data without its holes (and the map
// in front of it in GNU's PAX 1.0 form, which is read with the headers).
type streamTap struct {
	r        io.Reader
	crc      hash.Hash
	inHeader bool
	header   bytes.Buffer
	payload  int64  // payload bytes read for the entry
	capture  bool   // keep the payload bytes of one read in captured
	captured []byte //
}

func (t *streamTap) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	switch {
	case t.inHeader:
		if t.header.Len()+n > maxHeaderBytes {
			return 0, fmt.Errorf("headers of one entry exceed %d MiB", maxHeaderBytes>>20)
		}
		t.header.Write(p[:n])
	default:
		t.payload += int64(n)
		t.crc.Write(p[:n])
		if t.capture {
			t.captured = append(t.captured, p[:n]...)
		}
	}
	return n, err
}

// headers starts an entry's headers.
func (t *streamTap) headers() {
	t.inHeader = true
	t.header.Reset()
}

// startPayload ends the headers and returns them.
func (t *streamTap) startPayload(capture bool) []byte {
	t.inHeader = false
	t.payload = 0
	t.crc.Reset()
	t.capture = capture
	return bytes.Clone(t.header.Bytes())
}

// isSparse tells whether the tar reader expands holes for hdr (GNU's old 'S'
// type or its PAX records); taking a plain file for a sparse one only costs
// a region list of one.
func isSparse(hdr *tar.Header) bool {
	if hdr.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

var errSparseMap = errors.New("sparse file data does not match its content")

// payloadReader reads an entry's content from the tar reader. For a sparse
// file it finds which regions of the content the stream's bytes are, so
// that reassembly can read them back: the reader fills holes with zeros
// and copies the data in between, so each read's stream bytes are found,
// in order, in what it returned.
type payloadReader struct {
	tr      io.Reader
	tap     *streamTap
	sparse  bool
	off     int64
	regions [][2]int64
}

func (r *payloadReader) Read(p []byte) (int, error) {
	r.tap.captured = r.tap.captured[:0]
	n, err := r.tr.Read(p)
	if r.sparse && n > 0 {
		if merr := r.mapRegions(p[:n], r.tap.captured); merr != nil {
			return n, merr
		}
	}
	r.off += int64(n)
	return n, err
}

// mapRegions matches the stream bytes data, earliest first, in the content
// bytes content read at r.off: whatever it skips is zeros of holes, and the
// bytes it matches are the stream's, whichever way the map split them.
func (r *payloadReader) mapRegions(content, data []byte) error {
	i := 0
	for len(data) > 0 {
		k := bytes.IndexByte(content[i:], data[0])
		if k < 0 {
			return errSparseMap
		}
		i += k
		n := 0
		for n < len(data) && i+n < len(content) && content[i+n] == data[n] {
			n++
		}
		r.addRegion(r.off+int64(i), int64(n))
		i, data = i+n, data[n:]
	}
	if len(r.regions) > maxSparseRegions {
		return fmt.Errorf("sparse file of more than %d regions", maxSparseRegions)
	}
	return nil
}

func (r *payloadReader) addRegion(off, n int64) {
	if last := len(r.regions) - 1; last >= 0 && r.regions[last][0]+r.regions[last][1] == off {
		r.regions[last][1] += n
		return
	}
	r.regions = append(r.regions, [2]int64{off, n})
}

// sparseRegions returns the regions of a sparse entry, never nil for one.
func (r *payloadReader) sparseRegions() [][2]int64 {
	if !r.sparse {
		return nil
	}
	if r.regions == nil {
		return [][2]int64{}
	}
	return r.regions
}
