//go:build initembed

package prespawn

import _ "embed"

// Program is cmd/layerctl-init's binary, built by `make build` just before
// the binary that embeds it.
//
//go:embed layerctl-init.bin
var Program []byte

// programDigest is the hex sha256 of Program, which `make build` writes
// beside it: the name of Program's copy in a store (cache.go), known
// without hashing 2 MB at every start.
//
//go:embed layerctl-init.bin.sha256
var programDigest string
