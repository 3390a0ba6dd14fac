package explore

import (
	"reflect"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	digest "github.com/opencontainers/go-digest"
)

func TestPairHistory(t *testing.T) {
	ids := []digest.Digest{"sha256:a", "sha256:b"}
	cases := []struct {
		name string
		hist []v1.History
		want []digest.Digest // the layer of each entry
	}{
		{"an empty layer between", []v1.History{{CreatedBy: "ADD"}, {CreatedBy: "ENV", EmptyLayer: true}, {CreatedBy: "RUN"}}, []digest.Digest{"sha256:a", "", "sha256:b"}},
		{"no history", nil, []digest.Digest{"sha256:a", "sha256:b"}},
		{"history short of layers", []v1.History{{CreatedBy: "ADD"}}, []digest.Digest{"sha256:a", "sha256:b"}},
		{"history past the layers", []v1.History{{}, {}, {CreatedBy: "RUN"}}, []digest.Digest{"sha256:a", "sha256:b", ""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []digest.Digest
			for _, e := range pairHistory(c.hist, ids) {
				got = append(got, e.Layer)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("layers %v, want %v", got, c.want)
			}
		})
	}
	cmds := layerCommands([]v1.History{{CreatedBy: "ADD"}, {CreatedBy: "ENV", EmptyLayer: true}, {CreatedBy: "RUN"}}, ids)
	if !reflect.DeepEqual(cmds, []string{"ADD", "RUN"}) {
		t.Errorf("layer commands %q, want ADD, RUN", cmds)
	}
}
