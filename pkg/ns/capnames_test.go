package ns

import (
	"slices"
	"strings"
	"testing"
)

func TestCapabilities(t *testing.T) {
	def := capNames(defaultCaps)
	without := func(drop ...string) []string {
		return slices.DeleteFunc(slices.Clone(def), func(c string) bool { return slices.Contains(drop, c) })
	}
	for _, tc := range []struct {
		name       string
		add, drop  []string
		want       []string // nil: the default set
		wantErrSub string
	}{
		{name: "none"},
		{name: "drop all", drop: []string{"ALL"}, want: []string{}},
		{name: "drop all, add one", add: []string{"net_bind_service"}, drop: []string{"all"}, want: []string{"CAP_NET_BIND_SERVICE"}},
		{name: "add all but one", add: []string{"ALL"}, drop: []string{"SYS_ADMIN"},
			want: slices.DeleteFunc(slices.Clone(capabilityNames[:]), func(c string) bool { return c == "CAP_SYS_ADMIN" })},
		{name: "add, in number order", add: []string{"CAP_NET_ADMIN"}, want: append(without(), "CAP_NET_ADMIN")},
		{name: "drop and add", add: []string{"sys_time"}, drop: []string{"CHOWN", "cap_kill"}, want: append(without("CAP_CHOWN", "CAP_KILL"), "CAP_SYS_TIME")},
		{name: "add twice", add: []string{"CHOWN", "chown"}, want: def},
		{name: "unknown", add: []string{"FLY"}, wantErrSub: `--cap-add: unknown capability "FLY"`},
		{name: "unknown drop", drop: []string{"CAP_"}, wantErrSub: "--cap-drop"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Capabilities(tc.add, tc.drop)
			if tc.wantErrSub != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErrSub) {
					t.Errorf("error %v, want one containing %q", err, tc.wantErrSub)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			if want != nil {
				slices.SortFunc(want, func(a, b string) int { return capNumber(a) - capNumber(b) })
			}
			if (got == nil) != (want == nil) || !slices.Equal(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
			if nums, err := capNumbers(got); err != nil || (got == nil && !slices.Equal(nums, defaultCaps)) {
				t.Errorf("capNumbers(%v) = %v, %v", got, nums, err)
			}
		})
	}
}
