package union

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// overlayMaxLayers is overlayfs's limit on lower layers (OVL_MAX_STACK).
const overlayMaxLayers = 500

// overlayPageLayers is how many lower layers one page of mount data holds
// without "lowerdir+" (kernels before 6.8): names relative to the store root
// ("layers/<64 hex>/diff", 77 bytes with the separator) plus absolute
// upperdir and workdir leave room for about 40 under a store root of up to
// ~390 bytes. Deeper images get their bottom layers flattened.
const overlayPageLayers = 40

type overlay struct {
	// plain are the options that keep the upper dir a plain diff, for the
	// parameters this kernel knows.
	plain []string
	// newAPI: fsconfig takes "lowerdir+" (kernel 6.8+).
	newAPI bool
	// volatile: the kernel knows the "volatile" option (5.10+).
	volatile bool
}

var _ Driver = overlay{}

func newOverlay(f Features) overlay {
	o := overlay{newAPI: kernelAtLeast(f.Kernel, 6, 8), volatile: kernelAtLeast(f.Kernel, 5, 10)}
	// Without these the upper dir may hold redirects, metacopy stubs or
	// index entries that a commit could not read as a plain diff.
	for _, opt := range []string{"index", "redirect_dir", "metacopy"} {
		if f.OverlayOptions[opt] {
			o.plain = append(o.plain, opt+"=off")
		}
	}
	return o
}

func (overlay) Name() string { return Overlay }

func (o overlay) MaxLayers() int {
	if o.newAPI {
		return overlayMaxLayers
	}
	return overlayPageLayers
}

// Describe builds the overlay mount. The lower list is "lowerdir=A:B:C",
// nearest first. When it does not fit in one page: with the new mount API each
// layer is its own "lowerdir+" parameter; otherwise the names are made
// relative to their common parent directory and the mount is made from there.
func (o overlay) Describe(b Branches) (Mount, error) {
	ro := b.readOnly()
	if len(ro) == 0 {
		return Mount{}, fmt.Errorf("overlay needs at least one lower layer")
	}
	if len(ro) > overlayMaxLayers {
		return Mount{}, fmt.Errorf("overlay takes at most %d lower layers, got %d", overlayMaxLayers, len(ro))
	}
	for _, d := range slices.Concat(ro, []string{b.Upper, b.Work}) {
		if strings.ContainsAny(d, ":,") {
			return Mount{}, fmt.Errorf("branch path %q holds ':' or ',', which overlay options cannot carry", d)
		}
	}
	m := Mount{Type: "overlay", Source: "overlay"}
	tail := o.tailOptions(b)
	m.Options = append([]string{"lowerdir=" + strings.Join(ro, ":")}, tail...)
	if len(m.Data()) < pageSize {
		return m, nil
	}
	if o.newAPI {
		m.Options = tail
		m.Lowers = ro
		return m, nil
	}
	dir := commonDir(ro)
	rel := make([]string, len(ro))
	for i, d := range ro {
		r, err := filepath.Rel(dir, d)
		if err != nil {
			return Mount{}, err
		}
		rel[i] = r
	}
	m.Dir = dir
	m.Options = append([]string{"lowerdir=" + strings.Join(rel, ":")}, tail...)
	if len(m.Data()) >= pageSize {
		return Mount{}, fmt.Errorf("%d lower layers do not fit in one page of mount options on this kernel (%d bytes); flatten the bottom layers", len(ro), len(m.Data()))
	}
	return m, nil
}

func (o overlay) tailOptions(b Branches) []string {
	var opts []string
	if b.Upper != "" {
		opts = append(opts, "upperdir="+b.Upper, "workdir="+b.Work)
		if b.Throwaway && o.volatile {
			// Nothing will read this upper dir after the unmount, so it
			// need not reach the disk: no sync of the whole upper
			// filesystem on umount (5-16 ms seen here), no-op fsyncs.
			opts = append(opts, "volatile")
		}
	}
	return append(opts, o.plain...)
}

// commonDir is the deepest directory holding every path.
func commonDir(paths []string) string {
	dir := filepath.Dir(paths[0])
	for _, p := range paths[1:] {
		for !strings.HasPrefix(p, dir+"/") && dir != "/" {
			dir = filepath.Dir(dir)
		}
	}
	return dir
}

// kernelAtLeast compares a release string such as "6.18.44-foo".
func kernelAtLeast(release string, major, minor int) bool {
	var a, b int
	if _, err := fmt.Sscanf(release, "%d.%d", &a, &b); err != nil {
		return false
	}
	return a > major || a == major && b >= minor
}
