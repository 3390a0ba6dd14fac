package ns_test

import (
	"testing"

	"github.com/layerctl/layerctl/pkg/ns"
)

func TestParseSignal(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int // 0: an error
	}{
		{"SIGTERM", 15}, {"term", 15}, {"15", 15}, {"sigquit", 3}, {"SIGALRM", 14},
		{"SIGRTMIN", 34}, {"SIGRTMIN+3", 37}, {"RTMAX-1", 63}, {"SIGRTMAX", 64},
		{"NOPE", 0}, {"0", 0}, {"65", 0}, {"SIGRTMIN-1", 0}, {"SIGRTMIN+31", 0},
	} {
		sig, err := ns.ParseSignal(tc.in)
		if tc.want == 0 {
			if err == nil {
				t.Errorf("ParseSignal(%q) = %d, want an error", tc.in, sig)
			}
			continue
		}
		if err != nil || int(sig) != tc.want {
			t.Errorf("ParseSignal(%q) = %d, %v; want %d", tc.in, sig, err, tc.want)
		}
	}
}
