package layer

// Tests that no FIFO or device that came from a layer is ever opened: not
// when a later layer links to it or makes a directory over it, not when a
// diff dir file is swapped for one before verify or push.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
	"unsafe"

	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	lt "github.com/layerctl/layerctl/pkg/layer/layertest"
	"github.com/layerctl/layerctl/pkg/whiteout"
)

// openFormatStore opens a fresh store keeping whiteouts in format f.
func openFormatStore(t *testing.T, f whiteout.Format) *Store {
	t.Helper()
	s, err := Open(t.TempDir(), OpenOptions{Default: func() (Settings, error) {
		driver := "overlay"
		if f == whiteout.FormatFiles {
			driver = "vfs"
		}
		return Settings{Driver: driver, Whiteout: f}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// hangGuard is how long an operation may block before the test calls it a
// hang. It is no measure of speed: the operations take milliseconds.
const hangGuard = 30 * time.Second

// noHang runs fn and fails the test if it does not return within hangGuard.
// A reader stuck in the open of one of fifos is then released by opening
// it for writing, so that the test ends and cleans up.
func noHang(t *testing.T, what string, fifos []string, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-time.After(hangGuard):
	}
	for {
		for _, p := range fifos {
			if fd, err := unix.Open(p, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0); err == nil {
				unix.Close(fd)
			}
		}
		select {
		case <-done:
			t.Fatalf("%s blocked (released by opening a FIFO for writing)", what)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// watchOpens reports the names in dir that are opened (not O_PATH handles,
// which open nothing) from now until the returned function is called.
func watchOpens(t *testing.T, dir string) func() []string {
	t.Helper()
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		t.Fatalf("inotify: %v", err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_OPEN); err != nil {
		t.Fatalf("watch %s: %v", dir, err)
	}
	return func() []string {
		var names []string
		buf := make([]byte, 64<<10)
		for {
			n, err := unix.Read(fd, buf)
			if n <= 0 || err != nil {
				return names
			}
			for off := 0; off+unix.SizeofInotifyEvent <= n; {
				ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
				name := bytes.TrimRight(buf[off+unix.SizeofInotifyEvent:off+unix.SizeofInotifyEvent+int(ev.Len)], "\x00")
				// Reading a directory (the layers' listings are merged so)
				// cannot block nor reach the host: only other opens count.
				if len(name) > 0 && ev.Mask&unix.IN_ISDIR == 0 && !slices.Contains(names, string(name)) {
					names = append(names, string(name))
				}
				off += unix.SizeofInotifyEvent + int(ev.Len)
			}
		}
	}
}

func tarSource(data []byte) Source {
	return func(context.Context) (io.ReadCloser, []Blob, error) {
		return io.NopCloser(bytes.NewReader(data)), nil, nil
	}
}

// pullLayer stores data over parent as a pull does, the parent chain
// serving hardlink targets and the attributes of implied directories.
func pullLayer(t *testing.T, s *Store, parent digest.Digest, data []byte, fifos []string) (Meta, error) {
	t.Helper()
	var m Meta
	err := noHang(t, "pull", fifos, func() (err error) {
		m, _, err = s.Create(context.Background(), parent, digest.FromBytes(data), tarSource(data), CreateOptions{Lower: s.lowerFunc(parent)})
		return err
	})
	return m, err
}

// tarOf reads a layer's reassembled stream whole.
func tarOf(s *Store, chainID digest.Digest) ([]byte, error) {
	rc, err := s.Tar(chainID)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// A hardlink to a lower layer's FIFO or device, or a directory implied over
// one, makes the node (or the directory) in the new layer, as Docker and
// mutate.Extract do, without opening what the lower layer has there.
func TestPullOverLowerSpecialFiles(t *testing.T) {
	needRoot(t)
	for _, f := range []whiteout.Format{whiteout.FormatOverlay, whiteout.FormatFiles} {
		t.Run(string(f), func(t *testing.T) {
			s := openFormatStore(t, f)
			base := lt.Tar(t, lt.Fifo("p", lt.Mode(0o620), lt.Owner(7, 8), lt.MTime(t1)),
				lt.Char("tty", 5, 0, lt.Mode(0o666)), lt.Char("null", 1, 3, lt.Mode(0o666)), lt.Block("loop", 7, 0, lt.Mode(0o660), lt.Owner(0, 6)),
				lt.Dir("d/"), lt.File("d/reg", "lower"))
			bm, err := pullLayer(t, s, "", base, nil)
			if err != nil {
				t.Fatal(err)
			}
			lower := s.DiffDir(bm.ChainID)
			fifos := []string{filepath.Join(lower, "p")}
			for _, tc := range []struct {
				name  string
				upper []L
				check func(t *testing.T, d string)
			}{
				{"hardlink to a lower fifo", []L{lt.Hardlink("h", "p")}, func(t *testing.T, d string) {
					st := attrs(t, d+"/h", unix.S_IFIFO, 0o620, 7, 8)
					mtime(t, d+"/h", t1)
					eq(t, "p inode", lstat(t, d+"/p").Ino, st.Ino)
				}},
				{"hardlink to a lower char device", []L{lt.Hardlink("h", "tty"), lt.Hardlink("n", "null")}, func(t *testing.T, d string) {
					eq(t, "h rdev", attrs(t, d+"/h", unix.S_IFCHR, 0o666, 0, 0).Rdev, unix.Mkdev(5, 0))
					eq(t, "n rdev", attrs(t, d+"/n", unix.S_IFCHR, 0o666, 0, 0).Rdev, unix.Mkdev(1, 3))
				}},
				{"hardlink to a lower block device", []L{lt.Dir("dev/"), lt.Hardlink("dev/l", "loop")}, func(t *testing.T, d string) {
					eq(t, "rdev", attrs(t, d+"/dev/l", unix.S_IFBLK, 0o660, 0, 6).Rdev, unix.Mkdev(7, 0))
				}},
				{"implied parent over a lower fifo", []L{lt.File("p/x", "1")}, func(t *testing.T, d string) {
					attrs(t, d+"/p", unix.S_IFDIR, 0o755, 0, 0)
				}},
				{"implied parents over lower devices", []L{lt.File("null/x", "1"), lt.File("tty/y", "2"), lt.File("loop/z", "3")}, func(t *testing.T, d string) {
					attrs(t, d+"/null", unix.S_IFDIR, 0o755, 0, 0)
					attrs(t, d+"/loop", unix.S_IFDIR, 0o755, 0, 0)
				}},
				// The copy of a lower target goes with the dir a later entry replaces.
				{"copied hardlink target replaced", []L{lt.Hardlink("h", "d/reg"), lt.File("d", "file")}, func(t *testing.T, d string) {
					content(t, d+"/h", "lower")
					content(t, d+"/d", "file")
				}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					opened := watchOpens(t, lower)
					upper := lt.Tar(t, tc.upper...)
					m, err := pullLayer(t, s, bm.ChainID, upper, fifos)
					if err != nil {
						t.Fatalf("pull: %v", err)
					}
					if names := opened(); len(names) > 0 {
						t.Errorf("the pull opened %q of the lower layer", names)
					}
					tc.check(t, s.DiffDir(m.ChainID))
					for _, c := range m.Copied {
						if _, err := os.Lstat(filepath.Join(s.DiffDir(m.ChainID), c)); err != nil {
							t.Errorf("the record lists %q as copied: %v", c, err)
						}
					}
					if err := noHang(t, "verify", fifos, func() error { return s.Verify(t.Context(), m.ChainID) }); err != nil {
						t.Errorf("verify: %v", err)
					}
					if got, err := tarOf(s, m.ChainID); err != nil || !bytes.Equal(got, upper) {
						t.Errorf("reassembled %d bytes (err %v), want the %d pulled", len(got), err, len(upper))
					}
				})
			}
		})
	}
}

// A diff dir file swapped for a FIFO or a device is corrupt: verify and
// reassembly say so at once and open nothing. A special file whose header
// carries a size has no content in the stream either, and reassembles
// without being opened.
func TestReassembleNeverOpensSpecialFiles(t *testing.T) {
	needRoot(t)
	for _, tc := range []struct {
		name string
		mode uint32
		dev  uint64
	}{
		{"fifo", unix.S_IFIFO, 0},
		{"char device", unix.S_IFCHR, unix.Mkdev(1, 3)},
		{"block device", unix.S_IFBLK, unix.Mkdev(7, 0)},
	} {
		t.Run("swapped for a "+tc.name, func(t *testing.T) {
			s := openFormatStore(t, whiteout.FormatOverlay)
			data := lt.Tar(t, lt.File("f", "content"), lt.Dir("d/"), lt.File("d/g", "x"))
			m, err := pullLayer(t, s, "", data, nil)
			if err != nil {
				t.Fatal(err)
			}
			diff := s.DiffDir(m.ChainID)
			if err := os.Remove(diff + "/f"); err != nil {
				t.Fatal(err)
			}
			if err := unix.Mknod(diff+"/f", tc.mode|0o644, int(tc.dev)); err != nil {
				t.Fatal(err)
			}
			fifos := []string{diff + "/f"}
			opened := watchOpens(t, diff)
			err = noHang(t, "verify", fifos, func() error { return s.Verify(t.Context(), m.ChainID) })
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("verify: %v, want ErrCorrupt", err)
			}
			err = noHang(t, "reassembly", fifos, func() error { _, err := tarOf(s, m.ChainID); return err })
			if !errors.Is(err, ErrContentChanged) {
				t.Errorf("reassembly: %v, want ErrContentChanged", err)
			}
			if names := opened(); slices.Contains(names, "f") {
				t.Errorf("the %s was opened", tc.name)
			}
		})
	}
	t.Run("special files with a size in their header", func(t *testing.T) {
		s := openFormatStore(t, whiteout.FormatOverlay)
		fifo := lt.Fifo("p")
		fifo.Header.Size = 700 // a header-only type: the stream carries no content
		char := lt.Char("c", 1, 3)
		char.Header.Size = 3
		data := lt.Tar(t, fifo, char, lt.File("f", "x"))
		m, err := pullLayer(t, s, "", data, nil)
		if err != nil {
			t.Fatal(err)
		}
		diff := s.DiffDir(m.ChainID)
		opened := watchOpens(t, diff)
		if err := noHang(t, "verify", []string{diff + "/p"}, func() error { return s.Verify(t.Context(), m.ChainID) }); err != nil {
			t.Errorf("verify: %v", err)
		}
		if got, err := tarOf(s, m.ChainID); err != nil || !bytes.Equal(got, data) {
			t.Errorf("reassembled %d bytes (err %v), want the %d pulled", len(got), err, len(data))
		}
		if names := opened(); slices.Contains(names, "p") || slices.Contains(names, "c") {
			t.Errorf("opened %q", names)
		}
	})
}
