package container_test

// Tests of Store.Commit on overlay: every kind of change made through a
// mounted container comes out of a commit, a push to a real registry and a
// pull (by layerctl and by umoci) as the same tree; the layer holds exactly
// the changes; commits are reproducible; failures leave nothing behind.

import (
	"bytes"
	"errors"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/container"
	"github.com/layerctl/layerctl/pkg/image"
	"github.com/layerctl/layerctl/pkg/image/registrytest"
)

// commitScript changes a container of the "derived" image through its
// merged rootfs, one kind of change per step.
var commitScript = []struct {
	name string
	do   func(root string) error
}{
	{"add a file", func(r string) error { return commitWrite(r, "hello.txt", "hello\n", 0o644) }},
	{"add a tree", func(r string) error {
		if err := os.MkdirAll(filepath.Join(r, "newdir/a"), 0o755); err != nil {
			return err
		}
		return commitWrite(r, "newdir/a/b.txt", "b\n", 0o600)
	}},
	{"setgid directory", func(r string) error { return unix.Chmod(filepath.Join(r, "newdir/a"), 0o2755) }},
	{"modify a lower file", func(r string) error {
		f, err := os.OpenFile(filepath.Join(r, "etc/motd"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = f.WriteString("have a nice day\n")
		return err
	}},
	{"delete a lower file", func(r string) error { return os.Remove(filepath.Join(r, "etc/group")) }},
	{"delete a lower dir", func(r string) error { return os.RemoveAll(filepath.Join(r, "usr/sbin")) }},
	{"replace a lower dir with a new one", func(r string) error {
		if err := os.Mkdir(filepath.Join(r, "sbin.new"), 0o750); err != nil {
			return err
		}
		if err := commitWrite(r, "sbin.new/marker", "replaced\n", 0o644); err != nil {
			return err
		}
		if err := os.RemoveAll(filepath.Join(r, "sbin")); err != nil {
			return err
		}
		return os.Rename(filepath.Join(r, "sbin.new"), filepath.Join(r, "sbin"))
	}},
	{"rename a lower dir", func(r string) error {
		// Mounted with redirect_dir=off, overlay refuses to rename a lower
		// dir (EXDEV) and mv copies it, as it does across filesystems.
		from, to := filepath.Join(r, "opt/app"), filepath.Join(r, "opt/app2")
		if err := os.Rename(from, to); !errors.Is(err, unix.EXDEV) {
			return err
		}
		if out, err := exec.Command("mv", from, to).CombinedOutput(); err != nil {
			return errors.New(string(out))
		}
		return nil
	}},
	{"rename a lower symlink", func(r string) error {
		return os.Rename(filepath.Join(r, "bin/cat"), filepath.Join(r, "bin/cat2"))
	}},
	{"delete a lower dir and recreate it with other contents", func(r string) error {
		if err := os.RemoveAll(filepath.Join(r, "usr/bin")); err != nil {
			return err
		}
		if err := os.Mkdir(filepath.Join(r, "usr/bin"), 0o755); err != nil {
			return err
		}
		return commitWrite(r, "usr/bin/tool", "#!/bin/sh\n", 0o755)
	}},
	{"replace a lower symlink with a file", func(r string) error {
		if err := os.Remove(filepath.Join(r, "bin/ls")); err != nil {
			return err
		}
		return commitWrite(r, "bin/ls", "not busybox\n", 0o755)
	}},
	{"chmod", func(r string) error { return os.Chmod(filepath.Join(r, "etc/passwd"), 0o600) }},
	{"chown a lower dir", func(r string) error { return os.Lchown(filepath.Join(r, "root"), 1000, 1000) }},
	{"chown a lower symlink", func(r string) error { return os.Lchown(filepath.Join(r, "linuxrc"), 2, 2) }},
	{"hardlink a new file", func(r string) error { return os.Link(filepath.Join(r, "hello.txt"), filepath.Join(r, "hello.link")) }},
	{"hardlink a lower file", func(r string) error {
		return os.Link(filepath.Join(r, "bin/busybox"), filepath.Join(r, "busybox.hard"))
	}},
	{"symlink", func(r string) error { return os.Symlink("hello.txt", filepath.Join(r, "sl")) }},
	{"user xattr on a new file", func(r string) error {
		return unix.Lsetxattr(filepath.Join(r, "hello.txt"), "user.test", []byte("new"), 0)
	}},
	{"user xattr on a lower file", func(r string) error {
		return unix.Lsetxattr(filepath.Join(r, "etc/passwd"), "user.kind", []byte("lower"), 0)
	}},
	{"fifo", func(r string) error {
		if err := unix.Mkfifo(filepath.Join(r, "fifo"), 0o640); err != nil {
			return err
		}
		return unix.Chmod(filepath.Join(r, "fifo"), 0o640) // past the umask
	}},
	// The -init layer's files: written and deleted, never committed.
	{"write /etc/hosts", func(r string) error { return commitWrite(r, "etc/hosts", "10.0.0.1 db\n", 0o644) }},
	{"delete /etc/hostname", func(r string) error { return os.Remove(filepath.Join(r, "etc/hostname")) }},
	{"write a mountpoint", func(r string) error { return commitWrite(r, "proc/stray", "x", 0o644) }},
}

// commitScriptLayer is the committed layer's tar of commitScript, in order:
// each changed path and the directories holding it, whiteouts and opaque
// markers, nothing of the -init layer.
var commitScriptLayer = []string{
	"bin/", "bin/busybox", "bin/.wh.cat", "bin/cat2", "bin/ls",
	"busybox.hard",
	"etc/", "etc/.wh.group", "etc/motd", "etc/passwd",
	"fifo", "hello.link", "hello.txt", "linuxrc",
	"newdir/", "newdir/a/", "newdir/a/b.txt",
	"opt/", "opt/.wh.app", "opt/app2/", "opt/app2/sub/", "opt/app2/sub/new", "opt/app2/two",
	"root/",
	"sbin/", "sbin/.wh..wh..opq", "sbin/marker",
	"sl",
	"usr/", "usr/bin/", "usr/bin/.wh..wh..opq", "usr/bin/tool", "usr/.wh.sbin",
}

// commitCheckScriptSeen checks that a snapshot of the merged view shows
// what commitScript did, so that comparing snapshots compares something.
func commitCheckScriptSeen(t *testing.T, tree map[string]commitNode) {
	t.Helper()
	for _, c := range []struct {
		path string
		ok   func(commitNode) bool
	}{
		{"hello.txt", func(n commitNode) bool {
			return n.Xattrs == "user.test=new" && n.LinkedTo == "hello.link" && n.Size == 6
		}},
		{"busybox.hard", func(n commitNode) bool { return n.LinkedTo == "bin/busybox" }},
		{"etc/passwd", func(n commitNode) bool { return n.Mode == 0o600 && n.Xattrs == "user.kind=lower" }},
		{"newdir/a", func(n commitNode) bool { return n.Type == "dir" && n.Mode == 0o2755 }},
		{"root", func(n commitNode) bool { return n.UID == 1000 && n.GID == 1000 }},
		{"linuxrc", func(n commitNode) bool { return n.Type == "symlink" && n.UID == 2 && n.Link == "/bin/busybox" }},
		{"fifo", func(n commitNode) bool { return n.Type == "fifo" && n.Mode == 0o640 }},
		{"sl", func(n commitNode) bool { return n.Link == "hello.txt" }},
		{"bin/ls", func(n commitNode) bool { return n.Type == "reg" }},
		{"sbin/marker", func(n commitNode) bool { return n.Type == "reg" }},
		{"opt/app2/sub/new", func(n commitNode) bool { return n.Type == "reg" }},
		{"usr/bin/tool", func(n commitNode) bool { return n.Mode == 0o755 }},
		{"etc/group", nil}, {"usr/sbin", nil}, {"opt/app", nil}, {"bin/cat", nil},
		{"sbin/ifconfig", nil}, {"usr/bin/env", nil}, // lower children of the opaque dirs
	} {
		n, found := tree[c.path]
		if c.ok == nil && found || c.ok != nil && (!found || !c.ok(n)) {
			t.Errorf("merged view after the script: /%s = %+v (present: %v)", c.path, n, found)
		}
	}
}

func commitWrite(root, name, content string, mode os.FileMode) error {
	p := filepath.Join(root, name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		return err
	}
	return os.Chmod(p, mode) // past the umask
}

func runCommitScript(t *testing.T, root string) {
	t.Helper()
	for _, step := range commitScript {
		if err := step.do(root); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
	}
}

func TestCommitRoundTrip(t *testing.T) {
	e := newCommitEnv(t)
	base := e.pullDerived(t)
	c := e.create(t, "derived:latest")
	merged := e.mount(t, c.ID)
	below := commitTree(t, merged)
	runCommitScript(t, merged)
	want := commitTree(t, merged)
	commitCheckScriptSeen(t, want)
	changes, err := e.cs.Diff(t.Context(), c.ID)
	if err != nil {
		t.Fatal(err)
	}

	rec, m := e.commit(t, c.ID, "committed:1")
	if m.Parent != base.Top() || !slices.Equal(rec.DiffIDs, append(slices.Clone(base.DiffIDs), m.DiffID)) {
		t.Fatalf("commit: layer %+v, image diffIDs %v; want one layer over %v", m, rec.DiffIDs, base.DiffIDs)
	}
	hdrs := commitHeaders(t, e.layerTar(t, m.ChainID))

	t.Run("layer holds exactly the changes", func(t *testing.T) {
		var names []string
		for _, h := range hdrs {
			names = append(names, h.Name)
			if h.Typeflag == '3' || h.Typeflag == '4' {
				t.Errorf("%s: a device in the layer (a whiteout left in overlay form?)", h.Name)
			}
			for k := range h.PAXRecords {
				if strings.HasPrefix(k, "SCHILY.xattr.trusted.overlay.") {
					t.Errorf("%s: overlay's own xattr %s in the layer", h.Name, k)
				}
			}
		}
		if !slices.Equal(names, commitScriptLayer) {
			t.Errorf("layer entries:\n  %s\nwant:\n  %s", strings.Join(names, "\n  "), strings.Join(commitScriptLayer, "\n  "))
		}
		if err := e.ls.Verify(t.Context(), m.ChainID); err != nil {
			t.Errorf("verify: %v", err)
		}
	})

	t.Run("diff listed the layer's paths", func(t *testing.T) {
		var got []string
		for _, ch := range changes {
			got = append(got, ch.String())
		}
		if want := diffOfTar(hdrs, below); !slices.Equal(got, want) {
			t.Errorf("diff before the commit:\n  %s\nthe layer says:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
	})

	host := registrytest.Start(t)
	dest := host + "/commit/roundtrip:1"
	if _, err := image.Push(t.Context(), e.ls, e.im, "committed:1", dest, image.PushOptions{Insecure: true}); err != nil {
		t.Fatalf("push: %v", err)
	}

	t.Run("pulled into a fresh store", func(t *testing.T) {
		e2 := newCommitEnv(t)
		got := e2.pull(t, dest, "")
		if got.ID != rec.ID || !slices.Equal(got.ChainIDs, rec.ChainIDs) {
			t.Fatalf("pulled image %s %v, want %s %v", got.ID, got.ChainIDs, rec.ID, rec.ChainIDs)
		}
		c2 := e2.create(t, got.ID.String())
		commitCompareTrees(t, "the committed container", want, "a container of the pulled image", commitTree(t, e2.mount(t, c2.ID)))
	})

	t.Run("unpacked by umoci", func(t *testing.T) {
		if _, err := exec.LookPath("umoci"); err != nil {
			t.Skip("umoci not found (Debian package umoci)")
		}
		layout := filepath.Join(t.TempDir(), "oci")
		registrytest.Skopeo(t, "copy", "-q", "--src-tls-verify=false", "docker://"+dest, "oci:"+layout+":rt")
		bundle := filepath.Join(t.TempDir(), "bundle")
		if out, err := exec.Command("umoci", "unpack", "--image", layout+":rt", bundle).CombinedOutput(); err != nil {
			t.Fatalf("umoci unpack: %v\n%s", err, out)
		}
		got := commitTree(t, filepath.Join(bundle, "rootfs"))
		// umoci makes the rootfs directory itself; the image sets no "./".
		wantNoRoot := maps.Clone(want)
		delete(wantNoRoot, "")
		delete(got, "")
		commitCompareTrees(t, "the committed container", wantNoRoot, "umoci's rootfs", got)
	})
}

// TestCommitReproducible: the same changes, made twice in two containers at
// other times, committed with a fixed time and clamp, give the same layer
// and image, mounted or not.
func TestCommitReproducible(t *testing.T) {
	e := newCommitEnv(t)
	e.pullDerived(t)
	a, b := e.create(t, "derived:latest"), e.create(t, "derived:latest")
	runCommitScript(t, e.mount(t, a.ID))
	recA, mA := e.commit(t, a.ID, "")
	again, mAgain := e.commit(t, a.ID, "")
	if mAgain.DiffID != mA.DiffID || again.ID != recA.ID {
		t.Errorf("the same container committed twice: diffID %s then %s, image %s then %s", mA.DiffID, mAgain.DiffID, recA.ID, again.ID)
	}
	runCommitScript(t, e.mount(t, b.ID))
	if err := e.cs.Umount(b.ID, false); err != nil {
		t.Fatal(err)
	}
	recB, mB := e.commit(t, b.ID, "")
	if mB.DiffID != mA.DiffID || recB.ID != recA.ID {
		t.Errorf("the same changes in another container: diffID %s vs %s, image %s vs %s", mB.DiffID, mA.DiffID, recB.ID, recA.ID)
	}
}

// The empty layer: a tar of only the end-of-archive blocks (1024 zeros).
const emptyLayerDiffID = digest.Digest("sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef")

func TestCommitEmpty(t *testing.T) {
	e := newCommitEnv(t)
	base := e.pullTiny(t)
	c := e.create(t, "tiny:v1")
	if changes, err := e.cs.Diff(t.Context(), c.ID); err != nil || len(changes) != 0 {
		t.Fatalf("diff of a new container: %v %v", changes, err)
	}
	rec, m := e.commit(t, c.ID, "empty:1")
	if m.DiffID != emptyLayerDiffID || rec.ID == base.ID || len(rec.DiffIDs) != 2 || rec.DiffIDs[1] != emptyLayerDiffID {
		t.Errorf("empty commit: layer diffID %s, image %s with %v; want a new image over %s with %s",
			m.DiffID, rec.ID, rec.DiffIDs, base.ID, emptyLayerDiffID)
	}
	if b := e.layerTar(t, m.ChainID); !bytes.Equal(b, make([]byte, 1024)) {
		t.Errorf("empty layer tar: %d bytes, want 1024 zeros", len(b))
	}
	// Mounted and read through, a container still has nothing to commit.
	e.mount(t, c.ID)
	if _, m2 := e.commit(t, c.ID, ""); m2.ChainID != m.ChainID {
		t.Errorf("empty commit of the mounted container: layer %s, want %s", m2.ChainID, m.ChainID)
	}
	// An empty layer over an empty layer is another layer of the same diffID.
	c2 := e.create(t, "empty:1")
	rec2, m3 := e.commit(t, c2.ID, "empty:2")
	if m3.DiffID != emptyLayerDiffID || m3.Parent != m.ChainID || len(rec2.ChainIDs) != 3 || rec2.ChainIDs[2] == rec2.ChainIDs[1] {
		t.Errorf("second empty commit: layer %+v, chain %v", m3, rec2.ChainIDs)
	}
}

func TestCommitFailures(t *testing.T) {
	e := newCommitEnv(t)
	e.pullTiny(t)
	c := e.create(t, "tiny:v1")
	if err := commitWrite(e.mount(t, c.ID), "data/new", "n", 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, container string
		changes         []string
		is              error
		why             string
	}{
		{name: "unknown container", container: "no-such-container", is: container.ErrContainerNotFound},
		{name: "unknown instruction", container: c.ID, changes: []string{"RUN make"}, why: "unknown instruction"},
		{name: "bad JSON array", container: c.ID, changes: []string{`CMD ["sh",`}, why: "bad JSON array"},
		{name: "bad port", container: c.ID, changes: []string{"ENV A=1", "EXPOSE 80/tcp 70000"}, why: "bad port"},
		{name: "missing args", container: c.ID, changes: []string{"WORKDIR"}, why: "needs arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.storeEntries(t)
			opts := container.CommitOptions{Clamp: commitEpoch}
			opts.Name, opts.Created, opts.Changes = image.NormalizeName("bad:1"), commitEpoch, tc.changes
			_, _, err := e.cs.Commit(t.Context(), tc.container, opts)
			if err == nil {
				t.Fatal("commit: no error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.why) || strings.Contains(err.Error(), "\n") {
				t.Errorf("commit: %v; want one line, %v, %q", err, tc.is, tc.why)
			}
			if after := e.storeEntries(t); after != before {
				t.Errorf("a failed commit changed the store:\n%s\nwas:\n%s", after, before)
			}
		})
	}
	// The container is as it was and still commits.
	if changes, err := e.cs.Diff(t.Context(), c.ID); err != nil || len(changes) != 2 {
		t.Errorf("diff after the failed commits: %v %v", changes, err)
	}
	e.commit(t, c.ID, "good:1", "ENV A=1")
}
