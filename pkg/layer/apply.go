package layer

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"hash/crc64"
	"io"
	"os"
	"strings"

	digest "github.com/opencontainers/go-digest"
	"github.com/vbatts/tar-split/archive/tar"
	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/whiteout"
)

// ErrUnsafeEntry marks a tar entry refused because it would write outside the
// diff directory or change what the layer root is.
var ErrUnsafeEntry = errors.New("unsafe tar entry")

// LowerFunc returns an O_PATH handle (see Store.OpenInChain) on an entry of
// the parent chain by its path inside the image, for a hardlink whose target
// lives in a lower layer and for the attributes of implied directories. It
// returns an error wrapping fs.ErrNotExist when no lower layer has an entry
// there. Nothing is opened through the handle but a regular file or a
// directory.
type LowerFunc func(ctx context.Context, name string) (*os.File, error)

// ApplyOptions configures Apply.
type ApplyOptions struct {
	// Converter writes whiteouts in the store's native form. Required.
	Converter whiteout.Converter
	// Lower resolves hardlinks to files of lower layers; nil refuses them.
	Lower LowerFunc
	// TarSplit, when set, receives the layer's tar headers and padding as
	// tar-split JSON entries, so the stream can be reassembled later.
	TarSplit io.Writer
	// Shadow is the directory (made when needed) for the content the diff
	// dir cannot hold, such as a file's written twice (see shadow.go).
	// Without it, such a layer applies but cannot be reassembled.
	Shadow string
}

// ApplyResult describes an applied layer.
type ApplyResult struct {
	DiffID digest.Digest // sha256 of the whole uncompressed stream
	Size   int64         // bytes of regular file content
	// Copied lists files the layer did not carry but that were copied in from
	// a lower layer as the targets of hardlinks.
	Copied []string `json:",omitempty"`
	// Root tells that the tar had a "./" entry: the layer sets the
	// attributes of the merged root (OCI layer.md).
	Root bool `json:",omitempty"`
	// Entries counts the tar's entries.
	Entries int `json:"-"`
	// Shadowed lists the entries (by index) whose objects a later entry of
	// the layer replaced: they are not in the diff dir.
	Shadowed []int `json:",omitempty"`
}

var crcTable = crc64.MakeTable(crc64.ISO) // tar-split's table

// Apply extracts the uncompressed layer tar r into the directory dir, which
// must exist and be empty, and returns its diffID. The whole stream is read,
// trailing padding included, so that the diffID covers every byte.
//
// Every name is resolved from an open handle on dir without following
// symlinks; entries naming "..", absolute paths, a path through a symlink or
// a hardlink to anything outside the layer are refused with ErrUnsafeEntry.
func Apply(ctx context.Context, dir string, r io.Reader, opts ApplyOptions) (ApplyResult, error) {
	if opts.Converter == nil {
		return ApplyResult{}, errors.New("apply layer: no whiteout converter")
	}
	rootfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return ApplyResult{}, fmt.Errorf("apply layer: open %s: %w", dir, err)
	}
	a := &applier{
		ctx:        ctx,
		dir:        dir,
		root:       rootfd,
		opts:       opts,
		digest:     sha256.New(),
		crc:        crc64.New(crcTable),
		entries:    map[string]entryKind{},
		madeBy:     map[string][]int{},
		contentOf:  map[string]int{},
		copiedLive: map[string]bool{},
		buf:        make([]byte, 256<<10),
		shadowFd:   -1,
		owner:      newCreateOwner(rootfd),
	}
	defer a.close()
	if opts.TarSplit != nil {
		a.split = newSplitPacker(opts.TarSplit)
	}
	if err := a.run(io.TeeReader(r, a.digest)); err != nil {
		return ApplyResult{}, err
	}
	return ApplyResult{
		DiffID:   digest.NewDigest(digest.SHA256, a.digest),
		Size:     a.size,
		Copied:   a.copiedLeft(),
		Root:     a.rootEntry,
		Entries:  a.count,
		Shadowed: a.shadowed,
	}, nil
}

type entryKind uint8

const (
	kindDir entryKind = iota + 1
	kindOther
)

type dirTime struct {
	name string
	ts   [2]unix.Timespec
}

type applier struct {
	count   int      // entries read
	index   int      // of the entry being applied, from 0
	implied []string // directories made as parents, not listed (fixImplied)
	ctx     context.Context
	dir     string
	root    int
	opts    ApplyOptions
	digest  hash.Hash
	crc     hash.Hash64
	split   *splitPacker
	buf     []byte
	size    int64
	copied  []string
	// copiedLive tells which copied targets no later entry replaced.
	copiedLive map[string]bool
	rootEntry  bool

	// entries holds what this layer extracted, for hardlinks and for the
	// rule that X and .wh.X in one layer keep X.
	entries map[string]entryKind
	// dirTimes are restored last: creating children changes a dir's mtime.
	dirTimes []dirTime

	// madeBy names the entries (by index) whose object is at a name, and
	// contentOf the entry whose payload a regular file holds, for keeping
	// what a later entry replaces (shadow.go).
	madeBy    map[string][]int
	contentOf map[string]int
	shadowed  []int
	shadowFd  int

	// recordOnly reads the stream for its digest and tar-split entries and
	// extracts nothing: the files are in the diff dir already (Register).
	recordOnly bool

	// The parent directory of the last entry stays open: tar streams list
	// a directory's entries together.
	lastParent   string
	lastParentFD int
	owner        createOwner
}

func (a *applier) close() {
	if a.lastParentFD > 0 {
		unix.Close(a.lastParentFD)
	}
	if a.shadowFd > 0 {
		unix.Close(a.shadowFd)
	}
	if a.root >= 0 {
		unix.Close(a.root)
	}
}

func (a *applier) run(r io.Reader) error {
	tap := &streamTap{r: r, crc: a.crc}
	tr := tar.NewReader(tap)
	for {
		if err := a.ctx.Err(); err != nil {
			return err
		}
		tap.headers()
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read layer tar: %w", err)
		}
		sparse := isSparse(hdr)
		if err := a.split.segment(tap.startPayload(sparse)); err != nil {
			return err
		}
		a.index = a.count
		a.count++
		payload := &payloadReader{tr: tr, tap: tap, sparse: sparse}
		if a.recordOnly {
			a.size += regularSize(hdr)
		} else if err := a.entry(hdr, payload); err != nil {
			return fmt.Errorf("extract %q: %w", hdr.Name, err)
		}
		// Whatever the entry did with its payload, the rest is read so that
		// the diffID and the checksum cover it, and kept.
		if err := a.keepRest(payload); err != nil {
			return fmt.Errorf("read layer tar: %s: %w", hdr.Name, err)
		}
		// The size is what the stream carried: none for a FIFO whose header
		// claims some, only the data of a sparse file.
		if err := a.split.file(hdr.Name, tap.payload, a.crc.Sum(nil), payload.sparseRegions()); err != nil {
			return err
		}
	}
	// The end-of-archive blocks.
	if err := a.split.segment(tap.startPayload(false)); err != nil {
		return err
	}
	// Padding after the end-of-archive blocks belongs to the stream too.
	if a.split != nil {
		if err := a.split.rest(r); err != nil {
			return fmt.Errorf("read layer tar: %w", err)
		}
	} else if _, err := io.CopyBuffer(io.Discard, r, a.buf); err != nil {
		return fmt.Errorf("read layer tar: %w", err)
	}
	if err := a.fixImplied(); err != nil {
		return err
	}
	return a.restoreDirTimes()
}

// cleanName validates a tar entry name and returns it relative to the layer
// root ("" for the root itself).
func cleanName(name string) (string, error) {
	if strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("%w: absolute name", ErrUnsafeEntry)
	}
	if strings.IndexByte(name, 0) >= 0 {
		return "", fmt.Errorf("%w: NUL in name", ErrUnsafeEntry)
	}
	parts := strings.Split(name, "/")
	kept := parts[:0]
	for _, p := range parts {
		switch p {
		case "..":
			return "", fmt.Errorf("%w: name contains ..", ErrUnsafeEntry)
		case "", ".":
			continue
		}
		kept = append(kept, p)
	}
	return strings.Join(kept, "/"), nil
}

func splitName(name string) (parent, base string) {
	i := strings.LastIndexByte(name, '/')
	if i < 0 {
		return "", name
	}
	return name[:i], name[i+1:]
}

func (a *applier) entry(hdr *tar.Header, payload io.Reader) error {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil // PAX defaults for the stream, not a file: its name means nothing
	}
	name, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	if name == "" {
		if hdr.Typeflag != tar.TypeDir {
			return fmt.Errorf("%w: entry would replace the layer root with a non-directory", ErrUnsafeEntry)
		}
		a.rootEntry = true
		return a.attrs(a.root, "", hdr, true, false)
	}
	parentName, base := splitName(name)
	kind, target := whiteout.Classify(base)
	if kind == whiteout.Whiteout && !whiteout.ValidTarget(target) {
		return fmt.Errorf("%w: whiteout of %q", ErrUnsafeEntry, target)
	}
	if kind == whiteout.Meta {
		return nil // aufs bookkeeping never belongs to an image
	}
	parent, err := a.parent(parentName)
	if err != nil {
		return err
	}
	if !a.opts.Converter.Passthrough() {
		switch kind {
		case whiteout.Whiteout:
			return a.whiteout(parent, joinName(parentName, target), target)
		case whiteout.Opaque:
			return a.opaque(parent, parentName)
		}
	}
	if hdr.Typeflag == tar.TypeDir {
		if err := a.clear(parent, name, base, true); err != nil {
			return err
		}
		return a.create(parent, name, base, hdr, payload)
	}
	// The layer starts empty, so a name is mostly new: create first and
	// clear only what is in the way.
	err = a.create(parent, name, base, hdr, payload)
	if !errors.Is(err, unix.EEXIST) {
		return err
	}
	if parent, err = a.parent(parentName); err != nil { // a hardlink's copy may have moved it
		return err
	}
	if err := a.clear(parent, name, base, false); err != nil {
		return err
	}
	return a.create(parent, name, base, hdr, payload)
}

func parentOf(name string) string {
	parent, _ := splitName(name)
	return parent
}

func joinName(dir, base string) string {
	if dir == "" {
		return base
	}
	return dir + "/" + base
}

// whiteout records the deletion of target, unless this layer has (or will
// create, as a parent) its own entry there: a whiteout hides lower layers only.
func (a *applier) whiteout(parent int, name, target string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(parent, target, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil {
		return nil
	}
	if err := a.opts.Converter.Whiteout(parent, target); err != nil {
		return err
	}
	a.entries[name] = kindOther
	a.made(name, false)
	return nil
}

func (a *applier) opaque(parent int, dirName string) error {
	fd, err := unix.Openat(parent, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return a.opts.Converter.Opaque(fd)
}

// clear removes whatever this layer already has at name, unless both the old
// and the new entry are directories (a dir entry only updates attributes).
func (a *applier) clear(parent int, name, base string, isDir bool) error {
	var st unix.Stat_t
	err := unix.Fstatat(parent, base, &st, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return err
	}
	wasDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
	if wasDir && isDir {
		return nil
	}
	delete(a.entries, name)
	if err := a.replace(parent, name, base, wasDir); err != nil {
		return err
	}
	if !wasDir {
		return removeName(parent, base)
	}
	// The cached handle is parent itself, which survives: the caller uses it next.
	// The parent chain was resolved without symlinks, and RemoveAll never
	// follows one, so this stays inside the layer.
	return os.RemoveAll(a.dir + "/" + name)
}

// attrs sets owner, then mode (chown clears setuid/setgid), unless the
// creation gave both already, then xattrs on an open file or directory; a
// directory's times wait until the end.
func (a *applier) attrs(fd int, name string, hdr *tar.Header, isDir, asCreated bool) error {
	if !asCreated {
		if err := unix.Fchown(fd, hdr.Uid, hdr.Gid); err != nil {
			return fmt.Errorf("chown: %w", err)
		}
		if err := unix.Fchmod(fd, uint32(hdr.Mode&0o7777)); err != nil {
			return fmt.Errorf("chmod: %w", err)
		}
	}
	for key, value := range hdr.PAXRecords {
		attr, ok := strings.CutPrefix(key, "SCHILY.xattr.")
		// A tar must not forge the driver's own marks (opaque, redirect).
		if !ok || a.opts.Converter.IsNativeXattr(attr) {
			continue
		}
		if err := unix.Fsetxattr(fd, attr, []byte(value), 0); err != nil {
			return fmt.Errorf("set xattr %s: %w", attr, err)
		}
		if attr == aclDefault {
			a.owner.exact = false // what is made below it takes modes from the ACL
		}
	}
	if isDir {
		a.dirTimes = append(a.dirTimes, dirTime{name: name, ts: [2]unix.Timespec(times(hdr))})
	}
	return nil
}

func times(hdr *tar.Header) []unix.Timespec {
	atime := hdr.AccessTime
	if atime.IsZero() {
		atime = hdr.ModTime
	}
	return []unix.Timespec{unix.NsecToTimespec(atime.UnixNano()), unix.NsecToTimespec(hdr.ModTime.UnixNano())}
}

// restoreDirTimes sets directory times in entry order, so that a later entry
// for the same dir wins as it does for mode and owner. A dir that a later
// entry replaced (by a symlink, say) is skipped, never followed.
func (a *applier) restoreDirTimes() error {
	a.forgetParent()
	for _, d := range a.dirTimes {
		if d.name == "" {
			if err := unix.UtimesNanoAt(a.root, ".", d.ts[:], 0); err != nil {
				return fmt.Errorf("set times of layer root: %w", err)
			}
			continue
		}
		parentName, base := splitName(d.name)
		parent, err := openBeneath(a.root, parentName)
		if err != nil {
			continue
		}
		var st unix.Stat_t
		if unix.Fstatat(parent, base, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
			err = unix.UtimesNanoAt(parent, base, d.ts[:], unix.AT_SYMLINK_NOFOLLOW)
		}
		unix.Close(parent)
		if err != nil {
			return fmt.Errorf("set times of %s: %w", d.name, err)
		}
	}
	return nil
}
