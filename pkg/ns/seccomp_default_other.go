//go:build !amd64

package ns

// defaultSeccompFilter is compiled at start on this architecture (see
// zseccomp_default_amd64.go).
var defaultSeccompFilter []byte

const defaultSeccompFlags = 0
