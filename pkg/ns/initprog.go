//go:build !initembed

package ns

// initProgram is cmd/layerctl-init's binary when the build embeds it (the
// initembed tag, set by `make build`); without it the init step runs from a
// sealed view of this binary.
var initProgram []byte
