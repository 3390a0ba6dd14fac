package image

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// A registry's error reads as words, not as Go's print of a map, and
// errors.As still finds the registry's error.
func TestRegistryErrorWording(t *testing.T) {
	for _, tc := range []struct {
		diag   []transport.Diagnostic
		status int
		want   string
	}{
		{nil, 401, "fetch: 401 Unauthorized: authentication required (see layerctl login)"},
		{[]transport.Diagnostic{{Code: transport.ManifestUnknownErrorCode, Message: "manifest unknown", Detail: map[string]any{"Tag": "nosuchtag"}}},
			404, "fetch: manifest unknown: tag nosuchtag"},
		{[]transport.Diagnostic{{Code: transport.UnauthorizedErrorCode, Message: "authentication required", Detail: []any{map[string]any{"Type": "repository"}}}},
			401, `fetch: authentication required: [{"Type":"repository"}]`},
		{[]transport.Diagnostic{{Code: transport.NameUnknownErrorCode}, {Code: transport.DeniedErrorCode, Message: "no", Detail: "read only"}},
			404, "fetch: name unknown; no: read only"},
	} {
		te := &transport.Error{Errors: tc.diag, StatusCode: tc.status}
		err := oneLine(fmt.Errorf("fetch: %w", te))
		if err.Error() != tc.want {
			t.Errorf("got %q, want %q", err, tc.want)
		}
		var got *transport.Error
		if !errors.As(err, &got) {
			t.Errorf("%q: errors.As lost the registry's error", err)
		}
	}
}
