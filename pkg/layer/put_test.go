package layer_test

// Tests of Store.Put, which stores a layer stream whose diffID it learns
// from the stream (what the differ writes for a commit).

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/layer"
	"github.com/layerctl/layerctl/pkg/whiteout"
)

func openPutStore(t *testing.T) *layer.Store {
	t.Helper()
	s, err := layer.Open(t.TempDir(), layer.OpenOptions{Default: func() (layer.Settings, error) {
		return layer.Settings{Driver: "overlay", Whiteout: whiteout.FormatOverlay}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func bytesSource(b []byte) layer.Source {
	return func(context.Context) (io.ReadCloser, []layer.Blob, error) {
		return io.NopCloser(bytes.NewReader(b)), nil, nil
	}
}

// storeContents lists layers/ and tmp/, what a failed Put must not change.
func storeContents(t *testing.T, s *layer.Store) (layers, tmp []string) {
	t.Helper()
	for _, d := range []struct {
		dir string
		out *[]string
	}{{"layers", &layers}, {"tmp", &tmp}} {
		ents, err := os.ReadDir(filepath.Join(s.Root(), d.dir))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			*d.out = append(*d.out, e.Name())
		}
	}
	return layers, tmp
}

func TestPut(t *testing.T) {
	requireRoot(t)
	s := openPutStore(t)
	ctx := t.Context()
	base := writeDiff(t, newTree(t).file("bin/tool", "tool").file("etc/conf", "c").mtimes().dir, layer.DiffOptions{Converter: s.Converter()})
	m, created, err := s.Put(ctx, "", bytesSource(base))
	if err != nil || !created {
		t.Fatalf("Put base: created=%v err=%v", created, err)
	}
	sum := sha256.Sum256(base)
	if want := digest.NewDigestFromBytes(digest.SHA256, sum[:]); m.DiffID != want || m.ChainID != want || m.Parent != "" {
		t.Errorf("base meta %+v: want diffID = chainID = %s, no parent", m, want)
	}

	// A layer over it: the differ's stream comes back byte for byte.
	up := newTree(t).file("etc/conf", "changed").mkdir("bin").mknod("bin/tool", unix.S_IFCHR, 0, 0)
	up.file("new/file", "n").xattr("new/file", "user.k", "v").mtimes()
	upper := writeDiff(t, up.dir, layer.DiffOptions{Converter: s.Converter()})
	m2, created, err := s.Put(ctx, m.ChainID, bytesSource(upper))
	if err != nil || !created {
		t.Fatalf("Put upper: created=%v err=%v", created, err)
	}
	if m2.Parent != m.ChainID || m2.DiffID != digest.FromBytes(upper) || m2.ChainID != layer.ChainID(m.ChainID, m2.DiffID) {
		t.Errorf("upper meta %+v: want parent %s, diffID %s", m2, m.ChainID, digest.FromBytes(upper))
	}
	rc, err := s.Tar(m2.ChainID)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatalf("read the stored tar: %v", err)
	}
	if !bytes.Equal(got, upper) {
		t.Errorf("Store.Tar gave other bytes than were put:\n%s\nvs\n%s", strings.Join(listing(t, got), "\n"), strings.Join(listing(t, upper), "\n"))
	}
	if err := s.Verify(t.Context(), m2.ChainID); err != nil {
		t.Errorf("verify: %v", err)
	}

	// The same stream again: the stored layer is returned, nothing is added.
	layersBefore, _ := storeContents(t, s)
	again, created, err := s.Put(ctx, m.ChainID, bytesSource(upper))
	if err != nil || created || again.ChainID != m2.ChainID || !again.Created.Equal(m2.Created) {
		t.Errorf("second Put: created=%v err=%v meta %+v, want the stored %+v", created, err, again, m2)
	}
	layersAfter, tmp := storeContents(t, s)
	if !slices.Equal(layersBefore, layersAfter) || len(tmp) != 0 {
		t.Errorf("second Put changed the store: layers %v (was %v), tmp %v", layersAfter, layersBefore, tmp)
	}
}

func TestPutFailures(t *testing.T) {
	requireRoot(t)
	s := openPutStore(t)
	good := writeDiff(t, newTree(t).file("f", strings.Repeat("x", 64<<10)).dir, layer.DiffOptions{Converter: s.Converter()})
	for _, tc := range []struct {
		name   string
		parent digest.Digest
		open   layer.Source
		is     error
	}{
		{"missing parent", digest.FromString("no such layer"), bytesSource(good), layer.ErrNotFound},
		{"source fails to open", "", func(context.Context) (io.ReadCloser, []layer.Blob, error) {
			return nil, nil, errors.New("cannot open")
		}, nil},
		// A differ that fails half-way closes its pipe with the error.
		{"stream breaks mid-file", "", func(context.Context) (io.ReadCloser, []layer.Blob, error) {
			pr, pw := io.Pipe()
			go func() {
				pw.Write(good[:len(good)/2])
				pw.CloseWithError(errors.New("differ failed"))
			}()
			return pr, nil, nil
		}, nil},
		{"not a tar", "", bytesSource(bytes.Repeat([]byte("junk"), 300)), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			layersBefore, _ := storeContents(t, s)
			_, created, err := s.Put(t.Context(), tc.parent, tc.open)
			if err == nil || created {
				t.Fatalf("Put: created=%v err=%v, want an error", created, err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v, want %v", err, tc.is)
			}
			layersAfter, tmp := storeContents(t, s)
			if !slices.Equal(layersBefore, layersAfter) || len(tmp) != 0 {
				t.Errorf("failed Put left layers %v (was %v), tmp %v", layersAfter, layersBefore, tmp)
			}
		})
	}
}
