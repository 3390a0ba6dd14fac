package build

import (
	"slices"
	"testing"
)

func TestExpandWord(t *testing.T) {
	e := newEnv([]string{"HOME=/root", "V=env"}, map[string]string{"V": "arg", "A": "1"})
	for _, tc := range []struct{ in, want string }{
		{"$HOME/x", "/root/x"},
		{"${V}", "env"}, // ENV wins over ARG
		{"${A:-d}", "1"},
		{"${MISSING:-d}", "d"},
		{"'$HOME'", "$HOME"},
		{`\$HOME`, "$HOME"},
	} {
		got, err := expandWord(tc.in, e)
		if err != nil || got != tc.want {
			t.Errorf("expandWord(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestSetEnv(t *testing.T) {
	got := setEnv([]string{"A=1", "B=2"}, "A", "3")
	got = setEnv(got, "C", "4")
	if want := []string{"A=3", "B=2", "C=4"}; !slices.Equal(got, want) {
		t.Errorf("setEnv = %v, want %v", got, want)
	}
}
