package ns

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/ns/prespawn"
)

// ExecPart replaces this process with the program that lies at [off,
// off+size) of exe, a file of this binary's, run from a sealed memfd named
// name with argv and env: a binary can so carry a second program past its
// own image, which the loader never maps. It returns only on failure.
func ExecPart(name string, exe *os.File, off, size int64, argv, env []string) error {
	fd, err := prespawn.SealedMemfd(name, size, func(fd int) error { return prespawn.SendRange(fd, int(exe.Fd()), off, size) })
	if err != nil {
		return err
	}
	err = unix.Exec(fmt.Sprintf("/proc/self/fd/%d", fd), argv, env)
	unix.Close(fd)
	return fmt.Errorf("exec %s: %w", name, err)
}
