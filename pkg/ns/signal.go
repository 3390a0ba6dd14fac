package ns

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// ParseSignal reads a signal as Docker names it: "SIGTERM", "term", "15",
// "SIGRTMIN+3" (real-time signals numbered as glibc does: SIGRTMIN is 34).
// It is layerctl's one signal-name parser: kill -s, STOPSIGNAL and commit
// --change all go through it.
func ParseSignal(name string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(name); err == nil {
		if n < 1 || n > 64 {
			return 0, fmt.Errorf("bad signal %q: want 1-64", name)
		}
		return syscall.Signal(n), nil
	}
	up := strings.ToUpper(name)
	if !strings.HasPrefix(up, "SIG") {
		up = "SIG" + up
	}
	if sig := unix.SignalNum(up); sig != 0 {
		return sig, nil
	}
	if rest, ok := strings.CutPrefix(up, "SIGRTMIN"); ok {
		if n, ok := rtOffset(rest, "+"); ok {
			return syscall.Signal(34 + n), nil
		}
	}
	if rest, ok := strings.CutPrefix(up, "SIGRTMAX"); ok {
		if n, ok := rtOffset(rest, "-"); ok {
			return syscall.Signal(64 - n), nil
		}
	}
	return 0, fmt.Errorf("bad signal %q: want a name such as SIGTERM or a number 1-64", name)
}

// rtOffset reads the "+3" of SIGRTMIN+3 ("" is 0).
func rtOffset(rest, sign string) (int, bool) {
	if rest == "" {
		return 0, true
	}
	n, err := strconv.Atoi(strings.TrimPrefix(rest, sign))
	return n, err == nil && strings.HasPrefix(rest, sign) && n >= 0 && n <= 30
}
