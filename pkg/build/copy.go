package build

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"

	"github.com/layerctl/layerctl/pkg/container"
)

// copyRequest is a COPY or ADD, expanded.
type copyRequest struct {
	instructions.SourcesAndDest
	name               string // COPY or ADD
	from, chown, chmod string
	link, parents, add bool
	excludes           []string
	checksum           string
}

func (r copyRequest) check() error {
	switch {
	case r.link:
		return fmt.Errorf("%s --link is not supported", r.name)
	case r.parents:
		return fmt.Errorf("%s --parents is not supported", r.name)
	case len(r.excludes) > 0:
		return fmt.Errorf("%s --exclude is not supported", r.name)
	case r.checksum != "":
		return fmt.Errorf("%s --checksum is not supported", r.name)
	case len(r.SourceContents) > 0 && (len(r.SourcePaths) > 0 || r.from != ""):
		return fmt.Errorf("%s of heredocs together with files is not supported", r.name)
	}
	for _, doc := range r.SourceContents {
		if doc.Path == "" || doc.Path == "." || doc.Path == ".." || strings.ContainsAny(doc.Path, "/\x00") {
			return fmt.Errorf("%s <<%s: a heredoc's name must be a file name", r.name, doc.Path)
		}
	}
	for _, src := range r.SourcePaths {
		if r.add && (strings.Contains(src, "://") || strings.HasPrefix(src, "git@")) {
			return fmt.Errorf("ADD %s: ADD of a URL is not supported: download it in a RUN step", src)
		}
	}
	return nil
}

// copy runs a COPY or ADD: the files go straight into a new layer (a
// draft) when that is a plain write, else into a container of the stage's
// image, whose changes become the step's layer through the same differ as
// RUN's. Either way the layer is the same.
func (b *builder) copy(ctx context.Context, st *stage, r copyRequest) error {
	if err := r.check(); err != nil {
		return err
	}
	history := r.history()
	var src source
	var closeSrc func()
	var err error
	if len(r.SourceContents) > 0 {
		src, closeSrc, err = heredocSource(r.SourceContents)
		r.SourcePaths = heredocNames(r.SourceContents) // the files heredocSource made
	} else {
		src, closeSrc, err = b.copySource(ctx, st, r.from)
	}
	if err != nil {
		return err
	}
	defer closeSrc()
	dest := r.DestPath
	if !path.IsAbs(dest) { // relative to WORKDIR; a trailing slash still says "a directory"
		trail := strings.HasSuffix(dest, "/")
		dest = path.Join("/", st.cfg.Config.WorkingDir, dest)
		if trail {
			dest += "/"
		}
	}
	m, changed, err := container.LayerMeta{}, false, errNotPlain
	if !noDraft {
		m, changed, err = b.copyToDraft(ctx, st, src, dest, r)
	}
	viaDraft := !errors.Is(err, errNotPlain)
	if !viaDraft {
		m, changed, err = b.copyInContainer(ctx, st, src, dest, r)
	}
	if copiedVia != nil {
		copiedVia(viaDraft)
	}
	if err != nil {
		return err
	}
	if changed {
		b.addLayer(st, m)
	}
	b.addHistory(st, history, !changed)
	return nil
}

// history is the step's history entry, as BuildKit writes it.
func (r copyRequest) history() string {
	var b strings.Builder
	b.WriteString(r.name)
	if r.chown != "" {
		b.WriteString(" --chown=" + r.chown)
	}
	if r.chmod != "" {
		b.WriteString(" --chmod=" + r.chmod)
	}
	for _, s := range r.SourcePaths {
		b.WriteString(" " + s)
	}
	for _, doc := range r.SourceContents {
		b.WriteString(" <<" + doc.Path)
	}
	b.WriteString(" " + r.DestPath + " # buildkit")
	return b.String()
}

// heredocSource holds the heredocs of a COPY <<EOF as files named by their
// words, mode 0644, as BuildKit makes them, for the copy to read.
func heredocSource(docs []instructions.SourceContent) (source, func(), error) {
	dir, err := os.MkdirTemp("", "layerctl-heredoc-")
	if err != nil {
		return source{}, nil, err
	}
	root, err := writeHeredocs(dir, docs)
	if err != nil {
		os.RemoveAll(dir)
		return source{}, nil, err
	}
	return source{root: root}, func() { root.Close(); os.RemoveAll(dir) }, nil
}

// writeHeredocs writes each heredoc into dir and opens dir.
func writeHeredocs(dir string, docs []instructions.SourceContent) (*os.Root, error) {
	for _, doc := range docs {
		name := filepath.Join(dir, doc.Path)
		if err := os.WriteFile(name, []byte(doc.Data), 0o644); err != nil {
			return nil, err
		}
		if err := os.Chmod(name, 0o644); err != nil { // whatever the umask
			return nil, err
		}
	}
	return os.OpenRoot(dir)
}

func heredocNames(docs []instructions.SourceContent) []string {
	names := make([]string, len(docs))
	for i, doc := range docs {
		names[i] = doc.Path
	}
	return names
}

// Tests' hooks: noDraft sends every COPY through a container, and
// copiedVia learns which way each went.
var (
	noDraft   bool
	copiedVia func(viaDraft bool)
)

// copyToDraft writes the sources into a draft layer over the stage's top.
func (b *builder) copyToDraft(ctx context.Context, st *stage, src source, dest string, r copyRequest) (container.LayerMeta, bool, error) {
	if !numericChown(r.chown) {
		return container.LayerMeta{}, false, errNotPlain // names are looked up in the image's files
	}
	draft, err := b.store.DraftLayer(st.top)
	if err != nil {
		return container.LayerMeta{}, false, err
	}
	defer draft.Discard()
	if err := writeSources(src, "", newDraftView(draft, b.clamp()), dest, r); err != nil {
		return container.LayerMeta{}, false, err
	}
	return draft.Commit(ctx, b.clamp())
}

// copyInContainer writes the sources through a container of the stage's
// image and commits its changes.
func (b *builder) copyInContainer(ctx context.Context, st *stage, src source, dest string, r copyRequest) (container.LayerMeta, bool, error) {
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
	err = writeSources(src, rootfs, nil, dest, r)
	if uerr := b.store.Umount(ctr.ID, false); err == nil {
		err = uerr
	}
	if err != nil {
		return container.LayerMeta{}, false, err
	}
	return b.store.CommitLayer(ctx, ctr.ID, b.clamp())
}

// copySource is what COPY reads from: the context (less what .dockerignore
// excludes) or the rootfs of a stage or image (--from).
func (b *builder) copySource(ctx context.Context, st *stage, from string) (source, func(), error) {
	if from == "" {
		return b.contextSource()
	}
	ref := from
	for i, other := range b.built {
		if strings.EqualFold(b.stageNames[i], from) || strconv.Itoa(i) == from {
			drop, err := b.recordStage(other)
			if err != nil {
				return source{}, nil, err
			}
			ref = other.imageID.String()
			defer drop() // the container below keeps the layers in use
		}
	}
	if _, _, err := b.store.ImageConfigFile(ref); isNotFound(err) {
		if _, err := b.store.Pull(ctx, ref, pullOptions()); err != nil {
			return source{}, nil, fmt.Errorf("--from=%s: %w", from, err)
		}
	}
	noEntrypoint := ""
	ctr, err := b.store.Create(ctx, container.CreateOptions{Image: ref, Run: &container.RunConfig{Entrypoint: &noEntrypoint}})
	if err != nil {
		return source{}, nil, fmt.Errorf("--from=%s: %w", from, err)
	}
	remove := func() { b.store.Remove(ctr.ID, true) }
	dir, err := b.store.Mount(ctr.ID)
	if err != nil {
		remove()
		return source{}, nil, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		remove()
		return source{}, nil, err
	}
	return source{root: root}, func() { root.Close(); b.store.Umount(ctr.ID, false); remove() }, nil
}

// contextSource opens the build context, with its .dockerignore.
func (b *builder) contextSource() (source, func(), error) {
	root, err := os.OpenRoot(b.opts.Context)
	if err != nil {
		return source{}, nil, fmt.Errorf("build context: %w", err)
	}
	src := source{root: root}
	if f, err := root.Open(".dockerignore"); err == nil {
		patterns, err := ignorefile.ReadAll(f)
		f.Close()
		if err == nil {
			src.ignore, err = patternmatcher.New(patterns)
		}
		if err != nil {
			root.Close()
			return source{}, nil, fmt.Errorf(".dockerignore: %w", err)
		}
	}
	return src, func() { root.Close() }, nil
}

// chownIDs resolves --chown USER[:GROUP] with the image's /etc/passwd and
// /etc/group; 0:0 when not given.
func chownIDs(rootfs *os.Root, spec string) (uid, gid int, err error) {
	if spec == "" {
		return 0, 0, nil
	}
	user, group, hasGroup := strings.Cut(spec, ":")
	if uid, err = lookupID(rootfs, "etc/passwd", user); err != nil {
		return 0, 0, fmt.Errorf("--chown=%s: %w", spec, err)
	}
	gid = uid
	if hasGroup {
		if gid, err = lookupID(rootfs, "etc/group", group); err != nil {
			return 0, 0, fmt.Errorf("--chown=%s: %w", spec, err)
		}
	}
	return uid, gid, nil
}

// lookupID is a number, or the ID of a name in a passwd or group file.
func lookupID(rootfs *os.Root, file, name string) (int, error) {
	if n, err := strconv.Atoi(name); err == nil && n >= 0 {
		return n, nil
	}
	data, err := rootfs.ReadFile(file)
	if err != nil {
		return 0, fmt.Errorf("no %s to find %q in", filepath.Join("/", file), name)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Split(line, ":")
		if len(f) >= 3 && f[0] == name {
			return strconv.Atoi(f[2])
		}
	}
	return 0, fmt.Errorf("%q not found in /%s", name, file)
}
