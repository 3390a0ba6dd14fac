package layer

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	digest "github.com/opencontainers/go-digest"
)

// Verify checks a layer against what it was made from. Every entry of its
// diff dir is compared with its recorded tar header (type, mode with
// setuid/setgid/sticky, owner, size, link target, device numbers, xattrs,
// opaque mark), entries no header accounts for and missing ones are
// reported, and the stream reassembled from the files and headers must hash
// to the diffID. A kept compressed blob must still have its digest. Any
// difference is ErrCorrupt, naming the first few paths and what differs.
// Cancelling ctx stops it between directories and between reads of the
// stream, with ctx's error.
func (s *Store) Verify(ctx context.Context, chainID digest.Digest) error {
	m, err := s.Get(chainID)
	if err != nil {
		return err
	}
	problems, err := s.verifyFiles(ctx, m)
	if ctx.Err() != nil {
		return fmt.Errorf("verify %s: %w", chainID, ctx.Err())
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	problems = append(problems, s.verifyKeptBlobs(m)...)
	if len(problems) > 0 {
		return fmt.Errorf("%w: %w", ErrCorrupt, summary(problems))
	}
	return nil
}

// verifyFiles lists how the diff dir differs from the layer's headers and
// diffID; an error means the headers themselves cannot be read.
func (s *Store) verifyFiles(ctx context.Context, m Meta) ([]string, error) {
	split, err := s.OpenTarSplit(m.ChainID)
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(split)
	split.Close()
	if err != nil {
		return nil, fmt.Errorf("tar headers: %v", err)
	}
	want, err := s.expectedTree(raw)
	if err != nil {
		return nil, err
	}
	check := &treeCheck{ctx: ctx, s: s, parent: m.Parent, want: want}
	if err := check.run(s.DiffDir(m.ChainID)); err != nil {
		return nil, err
	}
	if len(check.problems) > 0 {
		// The content is read only when every entry is what its header
		// says: a regular file where one should be, so no FIFO or device
		// is ever opened.
		return check.problems, nil
	}
	tr, err := s.Tar(m.ChainID)
	if err != nil {
		return nil, err
	}
	defer tr.Close()
	h := sha256.New()
	if _, err := io.Copy(h, ctxReader{ctx, tr}); err != nil {
		if errors.Is(err, ErrContentChanged) {
			return []string{"/" + err.Error()}, nil
		}
		return []string{err.Error()}, nil
	}
	if got := digest.NewDigest(digest.SHA256, h); got != m.DiffID {
		return []string{fmt.Sprintf("content hashes to %s, diffID is %s", got, m.DiffID)}, nil
	}
	return nil, nil
}

// ctxReader ends a read loop once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
