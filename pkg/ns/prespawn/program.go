//go:build !initembed

package prespawn

// Program is cmd/layerctl-init's binary when the build embeds it (the
// initembed tag, set by `make build`); without it the init step runs from a
// sealed view of the whole binary, and nothing is started early.
var Program []byte

// programDigest is Program's hex sha256 (program_embed.go).
var programDigest string
