package layer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"strings"

	"github.com/vbatts/tar-split/archive/tar"
	"github.com/vbatts/tar-split/tar/storage"

	"github.com/layerctl/layerctl/pkg/whiteout"
)

// expectKind tells where the expected state of a diff dir path comes from.
type expectKind uint8

const (
	fromHeader   expectKind = iota // a tar entry: its header says it all
	whiteoutNode                   // the store's native whiteout of a lower name
	impliedDir                     // a parent the tar did not list: the lower layers' attributes
	copiedFile                     // a hardlink target copied from a lower layer
)

// expectation is what the applier left at one path of a diff dir. Hardlinked
// names share one expectation, as they share an inode.
type expectation struct {
	kind   expectKind
	hdr    *tar.Header
	xattrs map[string]string // a directory keeps those of every entry for it
	opaque bool
	first  string // the first name found on disk, for the hardlink check
	ino    uint64
	lower  string // the name in the lower layers, for a copied file
}

func (e *expectation) isDir() bool {
	return e.kind == impliedDir || e.kind == fromHeader && e.hdr.Typeflag == tar.TypeDir
}

// expectedTree replays a layer's tar headers the way Apply extracted them
// (apply.go), without their payloads, and tells what each path holds.
type expectedTree struct {
	conv  whiteout.Converter
	paths map[string]*expectation // "" is the layer root
}

func (s *Store) expectedTree(raw []byte) (*expectedTree, error) {
	x := &expectedTree{conv: s.conv, paths: map[string]*expectation{"": {kind: impliedDir}}}
	tr := tar.NewReader(newHeaderStream(raw))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return x, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read tar headers: %w", err)
		}
		if err := x.add(hdr); err != nil {
			return nil, fmt.Errorf("tar entry %q: %w", hdr.Name, err)
		}
	}
}

func (x *expectedTree) add(hdr *tar.Header) error {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	name, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	if name == "" {
		root := x.paths[""]
		root.kind, root.hdr, root.xattrs = fromHeader, hdr, x.mergeXattrs(root.xattrs, hdr)
		return nil
	}
	parentName, base := splitName(name)
	kind, target := whiteout.Classify(base)
	if kind == whiteout.Meta {
		return nil
	}
	x.addParents(parentName)
	if !x.conv.Passthrough() {
		switch kind {
		case whiteout.Whiteout:
			// A whiteout hides lower layers only: a name of this layer stays.
			if t := joinName(parentName, target); x.paths[t] == nil {
				x.paths[t] = &expectation{kind: whiteoutNode}
			}
			return nil
		case whiteout.Opaque:
			x.paths[parentName].opaque = true
			return nil
		}
	}
	old := x.paths[name]
	isDir := hdr.Typeflag == tar.TypeDir
	if old != nil && !(old.isDir() && isDir) {
		x.remove(name)
		old = nil
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if old == nil {
			old = &expectation{}
			x.paths[name] = old
		}
		old.kind, old.hdr, old.xattrs = fromHeader, hdr, x.mergeXattrs(old.xattrs, hdr)
	case tar.TypeLink:
		target, err := cleanName(hdr.Linkname)
		if err != nil {
			return err
		}
		t := x.paths[target]
		if t == nil {
			// Copied up from a lower layer, into parents made for it.
			x.addParents(parentOf(target))
			t = &expectation{kind: copiedFile, lower: target}
			x.paths[target] = t
		}
		x.paths[name] = t
	default:
		x.paths[name] = &expectation{kind: fromHeader, hdr: hdr, xattrs: x.mergeXattrs(nil, hdr)}
	}
	return nil
}

// addParents notes the directories Apply makes for an entry's parent.
func (x *expectedTree) addParents(dir string) {
	for p := dir; p != "" && x.paths[p] == nil; p = parentOf(p) {
		x.paths[p] = &expectation{kind: impliedDir}
	}
}

// remove drops name and everything below it, as Apply's clear does.
func (x *expectedTree) remove(name string) {
	delete(x.paths, name)
	prefix := name + "/"
	for p := range x.paths {
		if strings.HasPrefix(p, prefix) {
			delete(x.paths, p)
		}
	}
}

// mergeXattrs adds the xattrs a header sets (never the driver's own) to
// those an earlier entry for the same directory set.
func (x *expectedTree) mergeXattrs(into map[string]string, hdr *tar.Header) map[string]string {
	into = maps.Clone(into)
	for key, value := range hdr.PAXRecords {
		attr, ok := strings.CutPrefix(key, "SCHILY.xattr.")
		if !ok || x.conv.IsNativeXattr(attr) {
			continue
		}
		if into == nil {
			into = map[string]string{}
		}
		into[attr] = value
	}
	return into
}

// headerStream reads as the layer's tar stream with every file's payload
// replaced by zeros: enough to parse the headers without opening a file.
type headerStream struct {
	dec   *json.Decoder
	seg   []byte // what is left of the current segment
	zeros int64  // what is left of the current payload
}

func newHeaderStream(raw []byte) *headerStream {
	return &headerStream{dec: json.NewDecoder(bytes.NewReader(raw))}
}

func (h *headerStream) Read(p []byte) (int, error) {
	for len(h.seg) == 0 && h.zeros == 0 {
		var e storage.Entry
		if err := h.dec.Decode(&e); err != nil {
			return 0, err // io.EOF at the end
		}
		switch e.Type {
		case storage.SegmentType:
			h.seg = e.Payload
		case storage.FileType:
			h.zeros = max(e.Size, 0)
		}
	}
	if len(h.seg) > 0 {
		n := copy(p, h.seg)
		h.seg = h.seg[n:]
		return n, nil
	}
	n := int(min(int64(len(p)), h.zeros))
	clear(p[:n])
	h.zeros -= int64(n)
	return n, nil
}
