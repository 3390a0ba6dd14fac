package build

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"io/fs"
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
	recs map[string]digestRecord // kept by earlier builds, and made in this one
	// A file changed within the clock tick of its stat could change again
	// with the same ctime: files whose ctime is not before this are hashed
	// but not kept (git's "racily clean" entries).
	racyAfter int64
	fresh     int    // records made in this build
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
	key  statKey
	sum  [sha256.Size]byte
	used bool // in this build
}

const (
	digestsMagic = "layerctl context digests 1\n"
	// maxContextRecords bounds what is kept for one context.
	maxContextRecords = 1 << 17
	// racyWindow is how far before a build's start a ctime must be for its
	// file's digest to be kept: more than a coarse clock tick, and than the
	// skew between a network filesystem's clock and ours.
	racyWindow = time.Second
)

func newContextDigests(kept []byte, start time.Time) *contextDigests {
	return &contextDigests{
		recs:      decodeDigests(kept),
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
	if r, hit := c.recs[rel]; ok && hit && r.key == key {
		if !r.used {
			r.used = true
			c.recs[rel] = r
		}
		return r.sum, nil
	}
	dir, name, err := dirs.at(rel)
	if err != nil {
		return [sha256.Size]byte{}, err
	}
	f, err := dir.Open(name)
	if err != nil {
		return [sha256.Size]byte{}, err
	}
	defer f.Close()
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
			c.recs[rel] = digestRecord{key: key, sum: sum, used: true}
			c.fresh++
		}
	}
	return sum, nil
}

// changed tells whether there is anything new to keep.
func (c *contextDigests) changed() bool { return c.fresh > 0 }

// encode is what to keep: this build's records, then the last build's
// other ones (another Dockerfile on the context may copy them) while
// there is room.
func (c *contextDigests) encode() []byte {
	var body bytes.Buffer
	var b [binary.MaxVarintLen64]byte
	body.WriteString(digestsMagic)
	body.Write(b[:binary.PutUvarint(b[:], uint64(min(len(c.recs), maxContextRecords)))])
	n := 0
	put := func(rel string, r digestRecord) {
		body.Write(b[:binary.PutUvarint(b[:], uint64(len(rel)))])
		body.WriteString(rel)
		for _, v := range []uint64{uint64(r.key.size), uint64(r.key.mtime), uint64(r.key.ctime), r.key.ino, r.key.dev,
			uint64(r.key.mode), uint64(r.key.uid), uint64(r.key.gid)} {
			body.Write(b[:binary.PutUvarint(b[:], v)])
		}
		body.Write(r.sum[:])
		n++
	}
	for _, used := range []bool{true, false} {
		for rel, r := range c.recs {
			if r.used == used && n < maxContextRecords {
				put(rel, r)
			}
		}
	}
	return binary.BigEndian.AppendUint32(body.Bytes(), crc32.Checksum(body.Bytes(), crcTable))
}

var crcTable = crc32.MakeTable(crc32.Castagnoli)

var errBadDigests = errors.New("bad context digests")

// decodeDigests reads what encode wrote; anything damaged or of another
// version reads as nothing kept, so every file is hashed.
func decodeDigests(data []byte) map[string]digestRecord {
	if len(data) < len(digestsMagic)+4 {
		return map[string]digestRecord{}
	}
	body, tail := data[:len(data)-4], data[len(data)-4:]
	if !bytes.HasPrefix(body, []byte(digestsMagic)) || crc32.Checksum(body, crcTable) != binary.BigEndian.Uint32(tail) {
		return map[string]digestRecord{}
	}
	r := bytes.NewReader(body[len(digestsMagic):])
	count, err := binary.ReadUvarint(r)
	if err != nil {
		return map[string]digestRecord{}
	}
	out := make(map[string]digestRecord, min(count, maxContextRecords))
	for r.Len() > 0 && len(out) < maxContextRecords {
		rel, rec, err := readRecord(r)
		if err != nil {
			return map[string]digestRecord{}
		}
		out[rel] = rec
	}
	return out
}

func readRecord(r *bytes.Reader) (string, digestRecord, error) {
	var rec digestRecord
	n, err := binary.ReadUvarint(r)
	if err != nil || n > uint64(r.Len()) {
		return "", rec, errBadDigests
	}
	name := make([]byte, n)
	io.ReadFull(r, name)
	var v [8]uint64
	for i := range v {
		if v[i], err = binary.ReadUvarint(r); err != nil {
			return "", rec, errBadDigests
		}
	}
	rec.key = statKey{size: int64(v[0]), mtime: int64(v[1]), ctime: int64(v[2]), ino: v[3], dev: v[4],
		mode: uint32(v[5]), uid: uint32(v[6]), gid: uint32(v[7])}
	if _, err := io.ReadFull(r, rec.sum[:]); err != nil {
		return "", rec, errBadDigests
	}
	return string(name), rec, nil
}
