package container

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/layerctl/layerctl/pkg/image"
	"github.com/layerctl/layerctl/pkg/ns"
)

// ImportOptions describe docker import's image.
type ImportOptions struct {
	Name    string   // stored name ("" for none), already checked
	Changes []string // Dockerfile-style instructions (commit --change's)
	Comment string   // history comment (-m); "" for "Imported from Source"
	Source  string   // where the tarball came from, for the history ("-": stdin)
}

// Import makes an image of one layer from a tarball of a filesystem (what
// export writes, or any root tree), plain or compressed with gzip, bzip2 or
// zstd, as docker import does. The layer goes through the same applier as
// a pulled one.
func (c *Store) Import(ctx context.Context, r io.Reader, o ImportOptions) (image.Record, error) {
	if err := CheckChanges(o.Changes); err != nil {
		return image.Record{}, err
	}
	tarball, closeTarball, err := Decompressed(r)
	if err != nil {
		return image.Record{}, err
	}
	defer closeTarball()
	m, err := c.PutLayer(ctx, "", func(w io.Writer) error {
		_, err := io.Copy(w, tarball)
		return err
	})
	if err != nil {
		return image.Record{}, err
	}
	comment := o.Comment
	if comment == "" {
		comment = "Imported from " + o.Source
	}
	return image.Commit(c.layers, c.images, nil, m, image.CommitOptions{
		Name: o.Name, Comment: comment, Created: time.Now(), Changes: o.Changes,
		ParseSignal: ns.ParseSignal, Source: "import",
	})
}

var (
	gzipMagic  = []byte{0x1f, 0x8b}
	bzip2Magic = []byte("BZh")
	zstdMagic  = []byte{0x28, 0xb5, 0x2f, 0xfd}
	xzMagic    = []byte{0xfd, '7', 'z', 'X', 'Z', 0}
)

// Decompressed reads r as a tar stream, plain or compressed with gzip,
// bzip2 or zstd, told by its first bytes (import's tarball, ADD's archive);
// done releases the decompressor.
func Decompressed(r io.Reader) (tarball io.Reader, done func(), err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(6)
	switch {
	case bytes.HasPrefix(head, gzipMagic):
		z, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("gzip: %w", err)
		}
		return z, func() { z.Close() }, nil
	case bytes.HasPrefix(head, bzip2Magic):
		return bzip2.NewReader(br), func() {}, nil
	case bytes.HasPrefix(head, zstdMagic):
		z, err := zstd.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("zstd: %w", err)
		}
		return z, z.Close, nil
	case bytes.HasPrefix(head, xzMagic):
		return nil, nil, errors.New("xz is not supported: decompress it first (xz -dc)")
	}
	return br, func() {}, nil
}
