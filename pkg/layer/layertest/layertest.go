// Package layertest builds layer tars in code for tests.
//
// Names are written exactly as given (never cleaned), so hostile names such as
// "../x", "/etc/x" or "a/../../b" can be written. Directory names are not given
// a trailing slash either: pass "d/" for the usual form.
package layertest

import (
	"archive/tar"
	"bytes"
	"maps"
	"testing"
	"time"
)

// Epoch is the default mtime of every entry, so tars are reproducible.
var Epoch = time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)

// Entry is one tar entry, or raw bytes to append after the end-of-archive
// blocks (see Trailing).
type Entry struct {
	Header   tar.Header
	Body     []byte
	trailing []byte
	isTrail  bool
	blocks   []byte // written as they are (see Sparse)
}

// Opt changes an entry's header.
type Opt func(*tar.Header)

// Mode sets the permission bits (setuid, setgid and sticky included).
func Mode(m int64) Opt { return func(h *tar.Header) { h.Mode = m } }

// Owner sets the numeric owner.
func Owner(uid, gid int) Opt { return func(h *tar.Header) { h.Uid, h.Gid = uid, gid } }

// MTime sets the mtime; sub-second times switch the entry to PAX, which is
// the only format that keeps them.
func MTime(t time.Time) Opt {
	return func(h *tar.Header) {
		h.ModTime = t
		if t.Nanosecond() != 0 {
			h.Format = tar.FormatPAX
		}
	}
}

// Xattr adds an extended attribute as a PAX "SCHILY.xattr." record.
func Xattr(name, value string) Opt {
	return func(h *tar.Header) {
		h.PAXRecords = maps.Clone(h.PAXRecords)
		if h.PAXRecords == nil {
			h.PAXRecords = map[string]string{}
		}
		h.PAXRecords["SCHILY.xattr."+name] = value
		h.Format = tar.FormatPAX
	}
}

// Format forces a header format (tar.FormatGNU for GNU long names, say).
func Format(f tar.Format) Opt { return func(h *tar.Header) { h.Format = f } }

func entry(h tar.Header, body []byte, opts []Opt) Entry {
	if h.ModTime.IsZero() {
		h.ModTime = Epoch
	}
	for _, o := range opts {
		o(&h)
	}
	return Entry{Header: h, Body: body}
}

// Dir is a directory entry (mode 0755 unless changed).
func Dir(name string, opts ...Opt) Entry {
	return entry(tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755}, nil, opts)
}

// File is a regular file (mode 0644 unless changed).
func File(name, content string, opts ...Opt) Entry {
	return entry(tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(content))}, []byte(content), opts)
}

// Symlink is a symbolic link name -> target.
func Symlink(name, target string, opts ...Opt) Entry {
	return entry(tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777}, nil, opts)
}

// Hardlink is a hard link name -> target (a name of the layer).
func Hardlink(name, target string, opts ...Opt) Entry {
	return entry(tar.Header{Typeflag: tar.TypeLink, Name: name, Linkname: target, Mode: 0o644}, nil, opts)
}

// Char is a character device.
func Char(name string, major, minor int64, opts ...Opt) Entry {
	return entry(tar.Header{Typeflag: tar.TypeChar, Name: name, Mode: 0o666, Devmajor: major, Devminor: minor}, nil, opts)
}

// Block is a block device.
func Block(name string, major, minor int64, opts ...Opt) Entry {
	return entry(tar.Header{Typeflag: tar.TypeBlock, Name: name, Mode: 0o660, Devmajor: major, Devminor: minor}, nil, opts)
}

// Fifo is a named pipe.
func Fifo(name string, opts ...Opt) Entry {
	return entry(tar.Header{Typeflag: tar.TypeFifo, Name: name, Mode: 0o644}, nil, opts)
}

// Raw writes hdr and body as they are (a PAX global header, an unknown
// type); hdr.Size must match body for types that carry data.
func Raw(hdr tar.Header, body []byte) Entry { return Entry{Header: hdr, Body: body} }

// Trailing appends data after the end-of-archive blocks, as tar tools do
// when they pad a stream to a whole record.
func Trailing(data []byte) Entry { return Entry{trailing: data, isTrail: true} }

// Build writes the entries as one tar stream.
func Build(entries ...Entry) ([]byte, error) {
	var buf, trail bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		if e.isTrail {
			trail.Write(e.trailing)
			continue
		}
		if e.blocks != nil {
			if err := tw.Flush(); err != nil {
				return nil, err
			}
			buf.Write(e.blocks)
			continue
		}
		h := e.Header
		if err := tw.WriteHeader(&h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.Body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	buf.Write(trail.Bytes())
	return buf.Bytes(), nil
}

// Tar is Build that fails the test on error.
func Tar(t testing.TB, entries ...Entry) []byte {
	t.Helper()
	data, err := Build(entries...)
	if err != nil {
		t.Fatalf("build tar: %v", err)
	}
	return data
}
