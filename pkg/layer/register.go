package layer

import (
	"bufio"
	"context"
	"crypto/sha256"
	"fmt"
	"hash/crc64"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/klauspost/compress/gzip"
	digest "github.com/opencontainers/go-digest"
	"github.com/vbatts/tar-split/archive/tar"
	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/whiteout"
)

// A layer can be written in place: Stage makes an empty diff dir under
// tmp/, the caller fills it (a build's COPY), and Register stores it. Its
// stream is the differ's tar of the dir, hashed and recorded as tar-split on
// the way and written nowhere: the files are not copied a second time, as
// they are when a container's changes are committed through Put.

// Staged is a diff dir being filled, not yet a layer.
type Staged struct {
	store *Store
	tmp   string
	// Dir is the diff dir to fill: directories, regular files, symlinks and
	// hardlinks among them, as a layer's diff dir holds them.
	Dir string
}

// Stage makes an empty diff dir on the store's filesystem, which gc leaves
// alone until Discard.
func (s *Store) Stage() (*Staged, error) {
	tmp, err := s.stagingDir("layer-")
	if err != nil {
		return nil, err
	}
	diff := filepath.Join(tmp, diffDirName)
	if err := os.Mkdir(diff, 0o755); err != nil {
		s.unstage(tmp)
		return nil, err
	}
	return &Staged{store: s, tmp: tmp, Dir: diff}, nil
}

// Discard removes what is left of the staged dir; after Register there is
// nothing left but its lock.
func (st *Staged) Discard() { st.store.unstage(st.tmp) }

// Empty tells whether nothing was written into the staged dir.
func (st *Staged) Empty() (bool, error) {
	f, err := os.Open(st.Dir)
	if err != nil {
		return false, err
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	if err == io.EOF {
		return true, nil
	}
	return false, err
}

// Register stores the staged dir as the layer over parent, as Put does with
// a stream: its diffID and tar-split are the differ's tar of the dir (the
// one WriteDiff writes). Mtimes after clamp, when it is not zero, are
// clamped in the tar and in the dir, as an applied layer has them. When the
// store has the layer already, that one is returned and created is false.
func (st *Staged) Register(ctx context.Context, parent digest.Digest, clamp time.Time) (m Meta, created bool, err error) {
	s := st.store
	if parent != "" && !s.Has(parent) {
		return Meta{}, false, fmt.Errorf("parent layer %s: %w", parent, ErrNotFound)
	}
	splitFile, err := os.Create(filepath.Join(st.tmp, tarSplitFile))
	if err != nil {
		return Meta{}, false, err
	}
	defer splitFile.Close()
	zw := gzip.NewWriter(splitFile)
	// Buffered at both ends: an io.Pipe hands each write and read over
	// between the goroutines, some six a file.
	pr, pw := io.Pipe()
	go func() {
		bw := bufio.NewWriterSize(pw, pipeBuffer)
		err := st.writeTar(ctx, bw, clamp)
		if err == nil {
			err = bw.Flush()
		}
		pw.CloseWithError(err)
	}()
	res, err := recordStream(ctx, bufio.NewReaderSize(pr, pipeBuffer), zw)
	pr.CloseWithError(fmt.Errorf("layer stream not read: %w", err)) // ends the writer on an error
	if err == nil {
		err = zw.Close()
	}
	if err == nil {
		err = splitFile.Close()
	}
	if err != nil {
		return Meta{}, false, fmt.Errorf("store layer: %w", err)
	}
	m = Meta{
		ChainID: ChainID(parent, res.DiffID), DiffID: res.DiffID, Parent: parent, Size: res.Size,
		Created: time.Now().UTC(), entries: res.Entries,
	}
	if err := writeMeta(st.tmp, m); err != nil {
		return Meta{}, false, err
	}
	return s.publishNew(ctx, st.tmp, m)
}

const pipeBuffer = 256 << 10

// writeTar writes the staged dir as WriteDiff does, clamping the mtimes in
// the dir as it goes.
func (st *Staged) writeTar(ctx context.Context, w io.Writer, clamp time.Time) error {
	conv := st.store.conv
	d := newDiffer(w, DiffOptions{Converter: conv, Clamp: clamp})
	err := WalkChanges(ctx, st.Dir, WalkOptions{Converter: conv}, func(c Change) error {
		if err := clampTimes(&c, clamp); err != nil {
			return err
		}
		return d.change(c)
	})
	if err != nil {
		return err
	}
	return d.tw.Close()
}

// clampTimes sets an entry's times to clamp when its mtime is later.
func clampTimes(c *Change, clamp time.Time) error {
	if clamp.IsZero() || c.Source == "" || !time.Unix(c.Stat.Mtim.Unix()).After(clamp) {
		return nil
	}
	ts := unix.NsecToTimespec(clamp.UnixNano())
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, c.Source, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("clamp times of %s: %w", c.Path, err)
	}
	c.Stat.Atim, c.Stat.Mtim = ts, ts
	return nil
}

// recordStream reads a layer stream as Apply does, for its diffID, size
// and tar-split entries, and extracts nothing.
func recordStream(ctx context.Context, r io.Reader, split io.Writer) (ApplyResult, error) {
	a := &applier{
		ctx: ctx, root: -1, shadowFd: -1, recordOnly: true,
		digest: sha256.New(), crc: crc64.New(crcTable), buf: make([]byte, 256<<10),
		split: newSplitPacker(split),
	}
	defer a.close()
	if err := a.run(io.TeeReader(r, a.digest)); err != nil {
		return ApplyResult{}, err
	}
	return ApplyResult{DiffID: digest.NewDigest(digest.SHA256, a.digest), Size: a.size, Entries: a.count}, nil
}

// regularSize is the content size a header adds to a layer's size.
func regularSize(hdr *tar.Header) int64 {
	if hdr.Typeflag == tar.TypeReg || hdr.Typeflag == tar.TypeRegA {
		return hdr.Size
	}
	return 0
}

// CopyUp makes the directory rel of the staged dir, whose parent it has,
// as overlayfs copies a lower directory up: with the owner, mode, xattrs
// (but the driver's own) and times of the directory lower (a path in a
// layer's diff dir), and the parent's times left as they were.
func (st *Staged) CopyUp(rel, lower string) error {
	clean, err := cleanName(rel)
	if err != nil || clean == "" {
		return fmt.Errorf("copy up %q: not a directory below the layer root", rel)
	}
	var lst, pst unix.Stat_t
	if err := unix.Lstat(lower, &lst); err != nil || lst.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("copy up %s: %s is no directory (%v)", clean, lower, err)
	}
	root, err := unix.Open(st.Dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(root)
	parentName, base := splitName(clean)
	parent, err := openBeneath(root, parentName)
	if err != nil {
		return fmt.Errorf("copy up %s: %w", clean, err)
	}
	defer unix.Close(parent)
	if err := unix.Fstat(parent, &pst); err != nil {
		return err
	}
	if err := unix.Mkdirat(parent, base, 0o700); err != nil {
		return fmt.Errorf("copy up %s: %w", clean, err)
	}
	dir, err := unix.Openat(parent, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(dir)
	from, err := unix.Open(lower, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(from)
	if err := unix.Fchown(dir, int(lst.Uid), int(lst.Gid)); err != nil {
		return err
	}
	if err := unix.Fchmod(dir, lst.Mode&0o7777); err != nil {
		return err
	}
	if err := copyFdXattrs(from, dir, st.store.conv); err != nil {
		return err
	}
	if err := unix.UtimesNanoAt(dir, ".", []unix.Timespec{lst.Atim, lst.Mtim}, 0); err != nil {
		return err
	}
	return unix.UtimesNanoAt(parent, ".", []unix.Timespec{pst.Atim, pst.Mtim}, 0)
}

// HasOwnXattrs tells whether the entry at path (not followed) has xattrs
// other than the driver's: a copy-up would keep them.
func (s *Store) HasOwnXattrs(path string) (bool, error) {
	names, err := whiteout.ListXattrs(path)
	if err != nil {
		return false, err
	}
	for _, n := range names {
		if !s.conv.IsNativeXattr(n) {
			return true, nil
		}
	}
	return false, nil
}
