package container

import "testing"

func TestExcludeInit(t *testing.T) {
	for _, tc := range []struct {
		rel  string
		want bool
	}{
		{"etc/hosts", true}, {"etc/hostname", true}, {"etc/resolv.conf", true}, {"etc/mtab", true},
		{"proc", true}, {"proc/self/status", true}, {"sys", true}, {"sys/fs/cgroup", true},
		{"dev", true}, {"dev/pts", true}, {"dev/shm/x", true},
		{"etc", false}, {"etc/hosts.allow", false}, {"etc/passwd", false}, {"etc/hosts.d/x", false},
		{"devices", false}, {"process", false}, {"system", false}, {"usr/proc", false}, {"home/etc/hosts", false},
	} {
		if got := ExcludeInit(tc.rel); got != tc.want {
			t.Errorf("ExcludeInit(%q) = %v, want %v", tc.rel, got, tc.want)
		}
	}
}
