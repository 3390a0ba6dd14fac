package build_test

import (
	"testing"

	"github.com/layerctl/layerctl/pkg/build"
	"github.com/layerctl/layerctl/pkg/explore"
)

// A built image records how many of its layers are its FROM image's, also
// through a stage built on another stage, so the explorer counts user bytes
// above the base without --base; scratch has no base layers.
func TestBuildRecordsBaseLayers(t *testing.T) {
	s := newStore(t)
	dir := writeContext(t, map[string]string{"Dockerfile": `FROM busybox AS one
RUN echo 1 > /one
FROM one AS two
RUN echo 2 > /two
FROM scratch AS bare
COPY --from=one /one /
`})
	for _, tc := range []struct {
		target string
		layers int // the image's layers
		base   int // of them, the FROM image's
	}{
		{"one", 2, 1},
		{"two", 3, 1},
		{"bare", 1, 0},
	} {
		id, progress, err := buildIn(t.Context(), s, dir, build.Options{Target: tc.target})
		if err != nil {
			t.Fatalf("build %s: %v\n%s", tc.target, err, progress)
		}
		rec, err := s.ResolveImage(id.String())
		if err != nil {
			t.Fatal(err)
		}
		if len(rec.ChainIDs) != tc.layers || rec.BaseLayers != tc.base {
			t.Errorf("%s: %d layers, %d of the base; want %d and %d", tc.target, len(rec.ChainIDs), rec.BaseLayers, tc.layers, tc.base)
		}
		rep, err := explore.Analyze(t.Context(), s, id.String(), explore.Options{BaseLayers: -1})
		if err != nil {
			t.Fatal(err)
		}
		if rep.BaseLayers != tc.base {
			t.Errorf("%s: explore counts %d base layers, want %d", tc.target, rep.BaseLayers, tc.base)
		}
		if rep2, err := explore.Analyze(t.Context(), s, id.String(), explore.Options{BaseLayers: 0}); err != nil || rep2.BaseLayers != 0 {
			t.Errorf("%s: an explicit base of 0: %v, %v", tc.target, rep2, err)
		}
	}
}
