package layer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"os"

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

func (p *splitPacker) file(name string, size int64, crc []byte) error {
	if p == nil {
		return nil
	}
	e := storage.Entry{Type: storage.FileType, Size: size}
	if size > 0 {
		e.Payload = crc
	}
	e.SetName(name)
	return p.add(e)
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
// tar-split entries and the files of its diff directory. Each file is opened
// beneath the diff dir without following symlinks, and its content is checked
// against the recorded checksum.
func Reassemble(dir string, entries io.Reader, w io.Writer) error {
	root, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer unix.Close(root)
	dec := json.NewDecoder(entries)
	crc := crc64.New(crcTable)
	buf := make([]byte, 256<<10)
	for {
		var e storage.Entry
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
			if e.Size == 0 {
				continue
			}
			if err := copyChecked(root, e, crc, buf, w); err != nil {
				return err
			}
		}
	}
}

// ErrContentChanged reports a diff dir file whose content differs from what
// the layer's tar carried.
var ErrContentChanged = errors.New("content differs from the layer")

func copyChecked(root int, e storage.Entry, crc interface {
	io.Writer
	Sum([]byte) []byte
	Reset()
}, buf []byte, w io.Writer) error {
	name, err := cleanName(e.GetName())
	if err != nil {
		return err
	}
	fd, err := unix.Openat2(root, name, &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOFOLLOW,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return fmt.Errorf("open %s: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	crc.Reset()
	n, err := io.CopyBuffer(io.MultiWriter(w, crc), io.LimitReader(f, e.Size), buf)
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	if n != e.Size || !bytes.Equal(crc.Sum(nil), e.Payload) {
		return fmt.Errorf("%s: %w", name, ErrContentChanged)
	}
	return nil
}
