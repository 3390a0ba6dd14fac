package ns

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// defaultCaps is Docker's default capability set: enough for root in the
// container to own its files and switch users, not enough to mount, set the
// clock, load modules or trace processes.
var defaultCaps = []int{
	unix.CAP_CHOWN, unix.CAP_DAC_OVERRIDE, unix.CAP_FOWNER, unix.CAP_FSETID,
	unix.CAP_KILL, unix.CAP_SETGID, unix.CAP_SETUID, unix.CAP_SETPCAP,
	unix.CAP_NET_BIND_SERVICE, unix.CAP_NET_RAW, unix.CAP_SYS_CHROOT,
	unix.CAP_MKNOD, unix.CAP_AUDIT_WRITE, unix.CAP_SETFCAP,
}

// limitBounding drops every capability outside keep from the bounding set
// (so no file capability or setuid binary can bring it back) and clears
// the ambient set. It runs before the user switch, which needs
// CAP_SETUID and CAP_SETGID even when keep lacks them (as runc: bounding
// set first, then the user, then the process's own sets).
func limitBounding(keep []int) error {
	sets := capBits(keep)
	for c := 0; c < 64; c++ {
		if sets[c/32]&(1<<(c%32)) != 0 {
			continue
		}
		err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0)
		if errors.Is(err, unix.EINVAL) {
			break // past the kernel's last capability
		}
		if err != nil {
			return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	// The inheritable set goes now, whoever the process becomes: a user
	// switch keeps it, and it would hand capabilities to programs with
	// inheritable file capabilities (CVE-2022-24769).
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	for i := range data {
		data[i].Inheritable = 0
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	return nil
}

// setCaps sets the effective and permitted sets to keep, as far as this
// process has them (a host whose own bounding set lacks one cannot give
// it); the inheritable set stays empty (limitBounding). Root keeps them at
// execve: its permitted set is then the bounding set. Capabilities belong
// to the thread: the caller execs from this same locked thread.
func setCaps(keep []int) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var have [2]unix.CapUserData
	if err := unix.Capget(&hdr, &have[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	sets := capBits(keep)
	var data [2]unix.CapUserData
	for i := range data {
		p := sets[i] & have[i].Permitted
		data[i] = unix.CapUserData{Effective: p, Permitted: p}
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	return nil
}

func capBits(caps []int) [2]uint32 {
	var sets [2]uint32
	for _, c := range caps {
		if c >= 0 && c < 64 {
			sets[c/32] |= 1 << (c % 32)
		}
	}
	return sets
}
