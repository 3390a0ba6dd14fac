package build

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"sort"
	"syscall"
	"time"
)

// contextDigests reuses a context file's content digest from an earlier
// build while its stat is the same, as BuildKit's contenthash keeps
// checksums by path and fsutil resends only files whose stat changed: a
// cached rebuild then reads no file's content. Any change to a file's
// content moves its ctime (which no user can set back), so a file whose
// size, times, inode, device, mode or owner differ is hashed again.
type contextDigests struct {
	kept  []digestRecord          // from earlier builds, sorted by path
	fresh map[string]digestRecord // made in this build
	// A file changed within the clock tick of its stat could change again
	// with the same ctime: files whose ctime is not before this are hashed
	// but not kept (git's "racily clean" entries).
	racyAfter int64
	hashed    int    // files read in this build
	buf       []byte // for hashing, one for all files
}

// statKey is what must be unchanged for a kept digest to be reused.
type statKey struct {
	size, mtime, ctime int64
	ino, dev           uint64
	mode, uid, gid     uint32
}

type digestRecord struct {
	path string
	key  statKey
	sum  [sha256.Size]byte
	used bool // in this build
}

const (
	digestsMagic = "layerctl context digests 2\n"
	// maxContextRecords bounds what is kept for one context.
	maxContextRecords = 1 << 17
)

// racyWindow is how far before a build's start a ctime must be for its
// file's digest to be kept: more than the coarsest timestamps (2 s on FAT)
// and a little clock skew of a network filesystem. Tests shorten it.
var racyWindow = 3 * time.Second

func newContextDigests(kept []byte, start time.Time) *contextDigests {
	return &contextDigests{
		kept:      decodeDigests(kept),
		fresh:     map[string]digestRecord{},
		racyAfter: start.Add(-racyWindow).UnixNano(),
	}
}

// keyOf is fi's stat key; ok is false when fi carries no stat.
func keyOf(fi fs.FileInfo) (statKey, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return statKey{}, false
	}
	return statKey{
		size: st.Size, mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano(),
		ino: st.Ino, dev: st.Dev, mode: st.Mode, uid: st.Uid, gid: st.Gid,
	}, true
}

// sum is the content digest of the regular file rel, whose stat is fi:
// the kept one if the stat is unchanged, else read.
func (c *contextDigests) sum(dirs *rootCache, rel string, fi fs.FileInfo) ([sha256.Size]byte, error) {
	key, ok := keyOf(fi)
	if r, hit := c.fresh[rel]; ok && hit && r.key == key { // a second COPY of it
		return r.sum, nil
	}
	i := sort.Search(len(c.kept), func(i int) bool { return c.kept[i].path >= rel })
	if ok && i < len(c.kept) && c.kept[i].path == rel && c.kept[i].key == key {
		c.kept[i].used = true
		return c.kept[i].sum, nil
	}
	dir, name, err := dirs.at(rel)
	if err != nil {
		return [sha256.Size]byte{}, err
	}
	// Non-blocking and checked before reading: a file swapped for a FIFO
	// since the walk's lstat must not hang the build.
	f, err := dir.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return [sha256.Size]byte{}, err
	}
	defer f.Close()
	if now, err := f.Stat(); err != nil || !now.Mode().IsRegular() {
		return [sha256.Size]byte{}, fmt.Errorf("%s: changed while the build read it", rel)
	}
	if c.buf == nil {
		c.buf = make([]byte, 64<<10)
	}
	h := sha256.New()
	// Not io.Copy: *os.File's WriteTo would take a new buffer each file.
	if _, err := io.CopyBuffer(h, struct{ io.Reader }{f}, c.buf); err != nil {
		return [sha256.Size]byte{}, err
	}
	c.hashed++
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	// Kept only when the file did not change while it was read and its
	// ctime is safely in the past.
	if after, err := f.Stat(); err == nil && ok && key.ctime < c.racyAfter {
		if k, _ := keyOf(after); k == key {
			c.fresh[rel] = digestRecord{path: rel, key: key, sum: sum, used: true}
		}
	}
	return sum, nil
}

// changed tells whether there is anything new to keep.
func (c *contextDigests) changed() bool { return len(c.fresh) > 0 }

// encode is what to keep, sorted by path: this build's records, then the
// earlier builds' other ones (another Dockerfile on the context may copy
// them) while there is room.
func (c *contextDigests) encode() []byte {
	recs := make([]digestRecord, 0, min(len(c.fresh)+len(c.kept), maxContextRecords))
	for _, r := range c.fresh {
		recs = append(recs, r)
	}
	for _, used := range []bool{true, false} {
		for _, r := range c.kept {
			if _, dup := c.fresh[r.path]; r.used == used && !dup && len(recs) < maxContextRecords {
				recs = append(recs, r)
			}
		}
	}
	recs = recs[:min(len(recs), maxContextRecords)]
	sort.Slice(recs, func(i, j int) bool { return recs[i].path < recs[j].path })
	var b [binary.MaxVarintLen64]byte
	body := append([]byte(digestsMagic), b[:binary.PutUvarint(b[:], uint64(len(recs)))]...)
	for _, r := range recs {
		body = binary.AppendUvarint(body, uint64(len(r.path)))
		body = append(body, r.path...)
		for _, v := range []uint64{uint64(r.key.size), uint64(r.key.mtime), uint64(r.key.ctime), r.key.ino, r.key.dev,
			uint64(r.key.mode), uint64(r.key.uid), uint64(r.key.gid)} {
			body = binary.AppendUvarint(body, v)
		}
		body = append(body, r.sum[:]...)
	}
	return binary.BigEndian.AppendUint32(body, crc32.Checksum(body, crcTable))
}

var crcTable = crc32.MakeTable(crc32.Castagnoli)

var errBadDigests = errors.New("bad context digests")

// decodeDigests reads what encode wrote; anything damaged, unsorted or of
// another version reads as nothing kept, so every file is hashed.
func decodeDigests(data []byte) []digestRecord {
	if len(data) < len(digestsMagic)+4 {
		return nil
	}
	body, tail := data[:len(data)-4], data[len(data)-4:]
	if !bytes.HasPrefix(body, []byte(digestsMagic)) || crc32.Checksum(body, crcTable) != binary.BigEndian.Uint32(tail) {
		return nil
	}
	all := string(body) // one copy: each path is a part of it
	off := len(digestsMagic)
	count, n := binary.Uvarint(body[off:])
	if n <= 0 || count > maxContextRecords {
		return nil
	}
	off += n
	out := make([]digestRecord, 0, count)
	for off < len(body) {
		rec, next, err := readRecord(all, body, off)
		if err != nil || (len(out) > 0 && out[len(out)-1].path >= rec.path) || len(out) == int(count) {
			return nil
		}
		out = append(out, rec)
		off = next
	}
	return out
}

// readRecord reads the record at off in body (all is body as a string)
// and returns the offset after it.
func readRecord(all string, body []byte, off int) (digestRecord, int, error) {
	var rec digestRecord
	n, w := binary.Uvarint(body[off:])
	if w <= 0 || n > uint64(len(body)-off-w) {
		return rec, 0, errBadDigests
	}
	off += w
	rec.path = all[off : off+int(n)]
	off += int(n)
	var v [8]uint64
	for i := range v {
		if v[i], w = binary.Uvarint(body[off:]); w <= 0 {
			return rec, 0, errBadDigests
		}
		off += w
	}
	rec.key = statKey{size: int64(v[0]), mtime: int64(v[1]), ctime: int64(v[2]), ino: v[3], dev: v[4],
		mode: uint32(v[5]), uid: uint32(v[6]), gid: uint32(v[7])}
	if len(body)-off < sha256.Size {
		return rec, 0, errBadDigests
	}
	copy(rec.sum[:], body[off:])
	return rec, off + sha256.Size, nil
}
