//go:build initembed

package ns

import _ "embed"

// initProgram is cmd/layerctl-init's binary, built by `make build` just
// before the binary that embeds it.
//
//go:embed layerctl-init.bin
var initProgram []byte
