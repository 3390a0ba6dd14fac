//go:build !amd64 && !arm64

package ns

// seccompArches is empty where no system call table was generated: only an
// unconfined container starts there.
var seccompArches []seccompArch
