package ns

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// setRlimits sets the container's resource limits on this process, which
// its command inherits at execve. It runs first, with every capability:
// raising a hard limit takes CAP_SYS_RESOURCE.
func setRlimits(limits []Rlimit) error {
	for _, r := range limits {
		res, ok := r.resource()
		if !ok {
			return fmt.Errorf("ulimit %s: unknown", r.Name)
		}
		if err := unix.Setrlimit(res, &unix.Rlimit{Cur: r.Soft, Max: r.Hard}); err != nil {
			return &StartError{Code: CodeSetup, Msg: fmt.Sprintf("ulimit %s=%d:%d: %v", r.Name, r.Soft, r.Hard, err)}
		}
	}
	return nil
}
