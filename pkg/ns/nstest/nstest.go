// Package nstest holds test helpers for processes that the launcher starts.
package nstest

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// WaitCaught waits until process pid has a handler for sig (SigCgt in
// /proc/PID/status): a container's PID 1 ignores the signals it does not
// handle, so a trap must be in place before a test sends one.
func WaitCaught(t testing.TB, pid int, sig syscall.Signal) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if caught(pid, sig) {
			return
		}
	}
	t.Fatalf("pid %d set no handler for %v", pid, sig)
}

func caught(pid int, sig syscall.Signal) bool {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if hex, ok := strings.CutPrefix(l, "SigCgt:\t"); ok {
			mask, err := strconv.ParseUint(hex, 16, 64)
			return err == nil && mask&(1<<(sig-1)) != 0
		}
	}
	return false
}
