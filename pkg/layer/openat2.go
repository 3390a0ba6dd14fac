package layer

import "golang.org/x/sys/unix"

// Openat2 is openat2(2), asked again while the kernel answers EAGAIN: with
// RESOLVE_IN_ROOT or RESOLVE_BENEATH it does when a rename or mount
// elsewhere in the system raced a ".." it resolved, and it asks the caller
// to retry (openat2(2), EAGAIN).
func Openat2(dirfd int, path string, how *unix.OpenHow) (int, error) {
	for try := 0; ; try++ {
		fd, err := unix.Openat2(dirfd, path, how)
		if err != unix.EAGAIN || try == maxOpenat2Tries {
			return fd, err
		}
	}
}

// maxOpenat2Tries bounds the retries: a race lasts a moment; an endless
// EAGAIN would be something else.
const maxOpenat2Tries = 1000
