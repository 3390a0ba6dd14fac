package cgroup

import (
	"reflect"
	"testing"
)

func TestV1Knobs(t *testing.T) {
	for _, tc := range []struct {
		name string
		l    Limits
		want []knob
	}{
		{"none", Limits{}, nil},
		{"cpus", Limits{CPUs: 1.5}, []knob{
			{controller: "cpu", file: "cpu.cfs_period_us", value: "100000"},
			{controller: "cpu", file: "cpu.cfs_quota_us", value: "150000"},
		}},
		{"cpus round", Limits{CPUs: 0.333333}, []knob{
			{controller: "cpu", file: "cpu.cfs_period_us", value: "100000"},
			{controller: "cpu", file: "cpu.cfs_quota_us", value: "33333"},
		}},
		{"memory, swap off", Limits{Memory: 32 << 20}, []knob{
			{controller: "memory", file: "memory.limit_in_bytes", value: "33554432"},
			{controller: "memory", file: "memory.memsw.limit_in_bytes", value: "33554432", ifPresent: true},
			{controller: "memory", file: "memory.swappiness", value: "0", bestEffort: true},
		}},
		{"pids", Limits{PIDs: 64}, []knob{
			{controller: "pids", file: "pids.max", value: "64"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := v1Knobs(tc.l); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("v1Knobs(%+v)\n got %+v\nwant %+v", tc.l, got, tc.want)
			}
		})
	}
}

func TestV2Knobs(t *testing.T) {
	for _, tc := range []struct {
		name string
		l    Limits
		want []knob
	}{
		{"none", Limits{}, nil},
		{"cpus", Limits{CPUs: 2}, []knob{{controller: "cpu", file: "cpu.max", value: "200000 100000"}}},
		{"smallest cpus", Limits{CPUs: 0.01}, []knob{{controller: "cpu", file: "cpu.max", value: "1000 100000"}}},
		{"memory, swap off", Limits{Memory: 1 << 30}, []knob{
			{controller: "memory", file: "memory.max", value: "1073741824"},
			{controller: "memory", file: "memory.swap.max", value: "0", ifPresent: true},
		}},
		{"pids", Limits{PIDs: 1}, []knob{{controller: "pids", file: "pids.max", value: "1"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := v2Knobs(tc.l); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("v2Knobs(%+v)\n got %+v\nwant %+v", tc.l, got, tc.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		id   string
		l    Limits
		ok   bool
	}{
		{"plain", "0123abcd", Limits{CPUs: 0.5, Memory: 1, PIDs: 1}, true},
		{"no limits", "x", Limits{}, true},
		{"empty id", "", Limits{}, false},
		{"dot", ".", Limits{}, false},
		{"dotdot", "..", Limits{}, false},
		{"slash", "a/b", Limits{}, false},
		{"nul", "a\x00", Limits{}, false},
		{"negative cpus", "x", Limits{CPUs: -1}, false},
		{"cpus below 1 ms per period", "x", Limits{CPUs: 0.001}, false},
		{"negative memory", "x", Limits{Memory: -1}, false},
		{"negative pids", "x", Limits{PIDs: -5}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := validate(tc.id, tc.l)
			if (err == nil) != tc.ok {
				t.Errorf("validate(%q, %+v) = %v, want ok=%v", tc.id, tc.l, err, tc.ok)
			}
		})
	}
}

func TestOOMKilledV1(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		oomControl           string
		failcnt, peak, limit int64
		want                 bool
	}{
		{"counted kill", "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n", 0, 0, 0, true},
		{"counted none, despite failures", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n", 9, 100, 100, false},
		{"old kernel, under oom", "oom_kill_disable 0\nunder_oom 1\n", 0, 0, 0, true},
		{"old kernel, failed at limit", "oom_kill_disable 0\nunder_oom 0\n", 3, 100, 100, true},
		{"old kernel, failed below limit", "oom_kill_disable 0\nunder_oom 0\n", 3, 90, 100, false},
		{"old kernel, quiet", "oom_kill_disable 0\nunder_oom 0\n", 0, 100, 100, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := oomKilledV1(parseKeyed(tc.oomControl), tc.failcnt, tc.peak, tc.limit); got != tc.want {
				t.Errorf("oomKilledV1 = %v, want %v", got, tc.want)
			}
		})
	}
}
