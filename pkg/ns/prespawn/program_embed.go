//go:build initembed

package prespawn

import _ "embed"

// Program is cmd/layerctl-init's binary, built by `make build` just before
// the binary that embeds it.
//
//go:embed layerctl-init.bin
var Program []byte
