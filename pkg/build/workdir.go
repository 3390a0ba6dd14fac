package build

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	digest "github.com/opencontainers/go-digest"

	"github.com/layerctl/layerctl/pkg/container"
)

// workdir sets the working directory and, as BuildKit's mkdir file op,
// makes it in a layer of its own when it is missing: mode 0755, owned by
// the stage's USER, its missing parents too. A WORKDIR that finds its
// directory adds no layer.
func (b *builder) workdir(ctx context.Context, st *stage, c *instructions.WorkdirCommand) error {
	createdBy, err := b.metadata(st, c)
	if err != nil {
		return err
	}
	changed := false
	if wd := st.cfg.Config.WorkingDir; wd != "/" {
		if changed, err = b.makeWorkdir(ctx, st, strings.TrimPrefix(wd, "/")); err != nil {
			return fmt.Errorf("WORKDIR %s: %w", wd, err)
		}
	}
	b.addHistory(st, createdBy, !changed)
	return nil
}

// makeWorkdir makes the directory rel as the stage's next layer: written
// straight into a draft layer when that is a plain write and USER needs no
// lookup in the image's files, else through a container of the image.
func (b *builder) makeWorkdir(ctx context.Context, st *stage, rel string) (bool, error) {
	user := st.cfg.Config.User
	m, changed, err := container.LayerMeta{}, false, errNotPlain
	if numericChown(user) && !noDraft {
		m, changed, err = b.workdirInDraft(ctx, st.top, rel, user)
	}
	if errors.Is(err, errNotPlain) {
		m, changed, err = b.workdirInContainer(ctx, st, rel, user)
	}
	if err != nil {
		return false, err
	}
	if changed {
		b.addLayer(st, m)
	}
	return changed, nil
}

// workdirInDraft makes rel in a draft layer over top, as a container of the
// image would: the parents the image has are copied up.
func (b *builder) workdirInDraft(ctx context.Context, top digest.Digest, rel, user string) (container.LayerMeta, bool, error) {
	draft, err := b.store.DraftLayer(top)
	if err != nil {
		return container.LayerMeta{}, false, err
	}
	defer draft.Discard()
	root, err := os.OpenRoot(draft.Dir)
	if err != nil {
		return container.LayerMeta{}, false, err
	}
	defer root.Close()
	t := target{root: root, draft: newDraftView(draft, b.clamp())}
	if t.uid, t.gid, err = userIDs(root, user); err != nil {
		return container.LayerMeta{}, false, err
	}
	if exists, err := t.isDir(rel); err != nil || exists {
		return container.LayerMeta{}, false, err
	}
	if err := t.mkdirDraft(rel); err != nil {
		return container.LayerMeta{}, false, err
	}
	for dir := range t.draft.fresh { // 0755 whatever the umask
		if err := root.Chmod(dir, 0o755); err != nil {
			return container.LayerMeta{}, false, err
		}
	}
	return draft.Commit(ctx, b.clamp())
}

// workdirInContainer makes rel in a container of the stage's image and
// commits what that changed.
func (b *builder) workdirInContainer(ctx context.Context, st *stage, rel, user string) (container.LayerMeta, bool, error) {
	drop, err := b.recordStage(st)
	if err != nil {
		return container.LayerMeta{}, false, err
	}
	defer drop()
	noEntrypoint := ""
	ctr, err := b.store.Create(ctx, container.CreateOptions{Image: st.imageID.String(), Run: &container.RunConfig{Entrypoint: &noEntrypoint}})
	if err != nil {
		return container.LayerMeta{}, false, err
	}
	defer b.store.Remove(ctr.ID, true)
	rootfs, err := b.store.Mount(ctr.ID)
	if err != nil {
		return container.LayerMeta{}, false, err
	}
	err = mkdirAs(rootfs, rel, user)
	if uerr := b.store.Umount(ctr.ID, false); err == nil {
		err = uerr
	}
	if err != nil {
		return container.LayerMeta{}, false, err
	}
	return b.store.CommitLayer(ctx, ctr.ID, b.clamp())
}

// mkdirAs makes rel and its missing parents in rootfs (opened as a root: an
// image's symlink never leads out of it), owned by user.
func mkdirAs(rootfs, rel, user string) error {
	root, err := os.OpenRoot(rootfs)
	if err != nil {
		return err
	}
	defer root.Close()
	if fi, err := root.Stat(rel); err == nil && fi.IsDir() {
		return nil // no need to know the user
	}
	uid, gid, err := userIDs(root, user)
	if err != nil {
		return err
	}
	return mkdirAllOwned(root, rel, uid, gid)
}

// mkdirAllOwned makes rel and its missing parents 0755 (whatever the
// umask), owned by uid:gid.
func mkdirAllOwned(root *os.Root, rel string, uid, gid int) error {
	if rel == "." {
		return nil
	}
	if fi, err := root.Stat(rel); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("/%s is not a directory", rel)
		}
		return nil
	}
	if err := mkdirAllOwned(root, path.Dir(rel), uid, gid); err != nil {
		return err
	}
	if err := root.Mkdir(rel, 0o755); err != nil {
		return err
	}
	if err := root.Chmod(rel, 0o755); err != nil {
		return err
	}
	return root.Lchown(rel, uid, gid)
}

// userIDs resolves USER as BuildKit's file ops do: a name takes its uid
// and primary group from /etc/passwd, a number is its own group, a group
// after ":" is a number or a name in /etc/group. "" is root.
func userIDs(rootfs *os.Root, spec string) (uid, gid int, err error) {
	if spec == "" {
		return 0, 0, nil
	}
	user, group, hasGroup := strings.Cut(spec, ":")
	if n, err := strconv.Atoi(user); err == nil && n >= 0 {
		uid, gid = n, n
	} else if uid, gid, err = lookupUser(rootfs, user); err != nil {
		return 0, 0, fmt.Errorf("USER %s: %w", spec, err)
	}
	if hasGroup {
		if gid, err = lookupID(rootfs, "etc/group", group); err != nil {
			return 0, 0, fmt.Errorf("USER %s: %w", spec, err)
		}
	}
	return uid, gid, nil
}

// lookupUser is the uid and primary gid of name in /etc/passwd.
func lookupUser(rootfs *os.Root, name string) (uid, gid int, err error) {
	data, err := rootfs.ReadFile("etc/passwd")
	if errors.Is(err, fs.ErrNotExist) {
		return 0, 0, fmt.Errorf("no /etc/passwd to find %q in", name)
	}
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Split(line, ":")
		if len(f) >= 4 && f[0] == name {
			uid, uerr := strconv.Atoi(f[2])
			gid, gerr := strconv.Atoi(f[3])
			if uerr != nil || gerr != nil {
				return 0, 0, fmt.Errorf("%q has a bad line in /etc/passwd", name)
			}
			return uid, gid, nil
		}
	}
	return 0, 0, fmt.Errorf("%q not found in /etc/passwd", name)
}
