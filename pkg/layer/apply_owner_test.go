package layer

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"

	lt "github.com/layerctl/layerctl/pkg/layer/layertest"
	"github.com/layerctl/layerctl/pkg/whiteout"
)

// aclRWXOwnerOnly is a posix_acl xattr value (version 2) of user::rwx,
// group::---, other::---: as a default ACL it would make new files 0600.
func aclRWXOwnerOnly() string {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint32(2))
	for _, e := range []struct {
		tag, perm uint16
	}{{0x01, 7}, {0x04, 0}, {0x20, 0}} {
		binary.Write(&b, binary.LittleEndian, e.tag)
		binary.Write(&b, binary.LittleEndian, e.perm)
		binary.Write(&b, binary.LittleEndian, uint32(0xffffffff))
	}
	return b.String()
}

// The applier skips chown and chmod when creating a file gives its owner
// and mode already; these are the cases where creating does not.
func TestApplyOwnerAndModeWhereCreationDiffers(t *testing.T) {
	needRoot(t)
	cases := []struct {
		name    string
		entries []L
		path    string
		typ     uint32
		perm    uint32
		uid     int
		gid     int
	}{
		{"plain file", []L{lt.File("f", "x")}, "f", unix.S_IFREG, 0o644, 0, 0},
		{"mode the umask would mask", []L{lt.File("f", "x", lt.Mode(0o666))}, "f", unix.S_IFREG, 0o666, 0, 0},
		{"setuid file", []L{lt.File("f", "x", lt.Mode(0o4755))}, "f", unix.S_IFREG, 0o4755, 0, 0},
		{"other owner", []L{lt.File("f", "x", lt.Owner(7, 8))}, "f", unix.S_IFREG, 0o644, 7, 8},
		{"file in a setgid dir", []L{lt.Dir("d/", lt.Mode(0o2775), lt.Owner(0, 5)), lt.File("d/f", "x")}, "d/f", unix.S_IFREG, 0o644, 0, 0},
		{"symlink in a setgid dir", []L{lt.Dir("d/", lt.Mode(0o2775), lt.Owner(0, 5)), lt.Symlink("d/l", "f")}, "d/l", unix.S_IFLNK, 0o777, 0, 0},
		{"file below a default ACL", []L{lt.Dir("d/", lt.Xattr(aclDefault, aclRWXOwnerOnly())), lt.File("d/f", "x")}, "d/f", unix.S_IFREG, 0o644, 0, 0},
		{"file replacing an implied dir", []L{lt.File("a/b/c", "x"), lt.File("a/b", "y", lt.Mode(0o600))}, "a/b", unix.S_IFREG, 0o600, 0, 0},
		{"file replacing a file", []L{lt.File("f", "x", lt.Owner(3, 3)), lt.File("f", "y", lt.Mode(0o640))}, "f", unix.S_IFREG, 0o640, 0, 0},
		{"symlink replacing a file", []L{lt.File("f", "x"), lt.Symlink("f", "t")}, "f", unix.S_IFLNK, 0o777, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newApplyEnv(t)
			data := lt.Tar(t, tc.entries...)
			if _, err := Apply(context.Background(), e.root, bytes.NewReader(data), ApplyOptions{Converter: converter(t, whiteout.FormatOverlay)}); err != nil {
				t.Fatalf("apply: %v", err)
			}
			attrs(t, e.root+"/"+tc.path, tc.typ, tc.perm, tc.uid, tc.gid)
		})
	}
}

// A default ACL on the diff dir itself (inherited from where the store
// lives) turns the shortcut off for the whole layer.
func TestApplyOwnerUnderDefaultACLRoot(t *testing.T) {
	needRoot(t)
	e := newApplyEnv(t)
	if err := unix.Setxattr(e.root, aclDefault, []byte(aclRWXOwnerOnly()), 0); err != nil {
		t.Skipf("no POSIX ACLs on this filesystem: %v", err)
	}
	data := lt.Tar(t, lt.File("f", "x"))
	if _, err := Apply(context.Background(), e.root, bytes.NewReader(data), ApplyOptions{Converter: converter(t, whiteout.FormatOverlay)}); err != nil {
		t.Fatalf("apply: %v", err)
	}
	attrs(t, e.root+"/f", unix.S_IFREG, 0o644, 0, 0)
}
