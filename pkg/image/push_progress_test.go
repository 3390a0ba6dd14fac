package image_test

import (
	"path/filepath"
	"testing"

	"github.com/layerctl/layerctl/pkg/image"
)

// Push reports each layer blob it sends: its size first, every byte, then
// "done".
func TestPushProgress(t *testing.T) {
	skipUnlessRoot(t)
	s, im := newStore(t)
	rec := committedImage(t, s, im)
	reg := startUploadCounter(t)
	for _, dest := range []string{reg.host + "/progress/app:1", "oci:" + filepath.Join(t.TempDir(), "layout") + ":app"} {
		p := newProgressLog()
		mustPush(t, s, im, "app:1", dest, image.PushOptions{Progress: p})
		if len(p.begun) != len(rec.ChainIDs) {
			t.Errorf("%s: %d layers begun, the image has %d", dest, len(p.begun), len(rec.ChainIDs))
		}
		for id, size := range p.begun {
			if size <= 0 || int64(p.bytes[id]) != size || p.status[id] != "done" {
				t.Errorf("%s: layer %s: size %d, %d bytes reported, status %q", dest, id, size, p.bytes[id], p.status[id])
			}
		}
	}
}
