package ns

import (
	"math"
	"strings"
	"testing"
)

func TestParseRlimit(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Rlimit
		wantErr string
	}{
		{in: "nofile=1024:2048", want: Rlimit{"nofile", 1024, 2048}},
		{in: "nproc=64", want: Rlimit{"nproc", 64, 64}},
		{in: "core=-1", want: Rlimit{"core", math.MaxUint64, math.MaxUint64}},
		{in: "memlock=1024:unlimited", want: Rlimit{"memlock", 1024, math.MaxUint64}},
		{in: "nofile", wantErr: "NAME=SOFT"},
		{in: "files=1", wantErr: "NAME one of"},
		{in: "nofile=x", wantErr: `"x" is no limit`},
		{in: "nofile=10:5", wantErr: "soft limit is over"},
	} {
		got, err := ParseRlimit(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: error %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
		if res, ok := got.resource(); !ok || res < 0 {
			t.Errorf("%s: no RLIMIT_ number", tc.in)
		}
	}
}
