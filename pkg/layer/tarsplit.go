package layer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"os"
	"strconv"

	"github.com/vbatts/tar-split/tar/storage"
	"golang.org/x/sys/unix"
)

// splitPacker writes tar-split entries (the same JSON lines as
// storage.NewJSONPacker) for a stream the applier parses itself, so the tar
// is read once.
type splitPacker struct {
	enc *json.Encoder
	pos int
}

func newSplitPacker(w io.Writer) *splitPacker { return &splitPacker{enc: json.NewEncoder(w)} }

func (p *splitPacker) add(e storage.Entry) error {
	e.Position = p.pos
	p.pos++
	if err := p.enc.Encode(e); err != nil {
		return fmt.Errorf("write tar headers: %w", err)
	}
	return nil
}

func (p *splitPacker) segment(raw []byte) error {
	if p == nil || len(raw) == 0 {
		return nil
	}
	return p.add(storage.Entry{Type: storage.SegmentType, Payload: raw})
}

// splitEntry is a tar-split entry with what a sparse file adds: the regions
// of the file (offset, length) whose bytes the stream carries, in order; the
// rest are holes.
type splitEntry struct {
	storage.Entry
	Sparse [][2]int64 `json:"sparse,omitempty"`
}

func (p *splitPacker) file(name string, size int64, crc []byte, sparse [][2]int64) error {
	if p == nil {
		return nil
	}
	e := splitEntry{Entry: storage.Entry{Type: storage.FileType, Size: size, Position: p.pos}, Sparse: sparse}
	if size > 0 {
		e.Payload = crc
	}
	e.SetName(name)
	p.pos++
	if err := p.enc.Encode(e); err != nil {
		return fmt.Errorf("write tar headers: %w", err)
	}
	return nil
}

// rest records whatever follows the end-of-archive marker, in bounded chunks.
func (p *splitPacker) rest(r io.Reader) error {
	buf := make([]byte, 1<<20)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if err := p.segment(bytes.Clone(buf[:n])); err != nil {
				return err
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// Reassemble writes the original tar stream of a layer to w, from its
// tar-split entries, the files of its diff directory and the content kept
// in shadow (see ApplyOptions.Shadow; "" for none). Only regular files are
// read, each opened beneath its directory without following symlinks, and
// its content is checked against the recorded checksum.
func Reassemble(dir, shadow string, entries io.Reader, w io.Writer) error {
	root, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer unix.Close(root)
	kept, shadowFd, err := openShadow(shadow)
	if err != nil {
		return err
	}
	if shadowFd >= 0 {
		defer unix.Close(shadowFd)
	}
	dec := json.NewDecoder(entries)
	crc := crc64.New(crcTable)
	buf := make([]byte, 256<<10)
	for index := 0; ; {
		var e splitEntry
		if err := dec.Decode(&e); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("read tar headers: %w", err)
		}
		switch e.Type {
		case storage.SegmentType:
			if _, err := w.Write(e.Payload); err != nil {
				return err
			}
		case storage.FileType:
			from, name := root, e.GetName()
			if kept[index] {
				from, name = shadowFd, strconv.Itoa(index)
			}
			index++
			if e.Size == 0 {
				continue
			}
			if err := copyChecked(from, name, e, crc, buf, w); err != nil {
				return err
			}
		}
	}
}

// openShadow lists the entries whose content is kept in shadow.
func openShadow(shadow string) (map[int]bool, int, error) {
	if shadow == "" {
		return nil, -1, nil
	}
	fd, err := unix.Open(shadow, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil, -1, nil
	}
	if err != nil {
		return nil, -1, fmt.Errorf("open %s: %w", shadow, err)
	}
	names, err := os.ReadDir(shadow)
	if err != nil {
		unix.Close(fd)
		return nil, -1, err
	}
	kept := map[int]bool{}
	for _, n := range names {
		if i, err := strconv.Atoi(n.Name()); err == nil {
			kept[i] = true
		}
	}
	return kept, fd, nil
}

// ErrContentChanged reports a diff dir file whose content differs from what
// the layer's tar carried (or that is no regular file any more).
var ErrContentChanged = errors.New("content differs from the layer")

func copyChecked(root int, rawName string, e splitEntry, crc interface {
	io.Writer
	Sum([]byte) []byte
	Reset()
}, buf []byte, w io.Writer) error {
	name, err := cleanName(rawName)
	if err != nil {
		return err
	}
	f, err := openRegular(root, name)
	if errors.Is(err, errNotRegular) {
		return fmt.Errorf("%s: %w: %v", name, ErrContentChanged, err)
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", name, err)
	}
	defer f.Close()
	crc.Reset()
	var src io.Reader = io.LimitReader(f, e.Size)
	if e.Sparse != nil {
		src = sparseReader(f, e.Sparse)
	}
	n, err := io.CopyBuffer(io.MultiWriter(w, crc), src, buf)
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	if n != e.Size || !bytes.Equal(crc.Sum(nil), e.Payload) {
		return fmt.Errorf("%s: %w", name, ErrContentChanged)
	}
	return nil
}

// sparseReader reads the regions of f one after the other: the bytes a
// sparse entry's stream carries.
func sparseReader(f *os.File, regions [][2]int64) io.Reader {
	parts := make([]io.Reader, len(regions))
	for i, r := range regions {
		parts[i] = io.NewSectionReader(f, r[0], r[1])
	}
	return io.MultiReader(parts...)
}
