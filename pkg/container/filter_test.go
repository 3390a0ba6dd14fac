package container

import "testing"

func TestParseFilters(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		want    Filters
		wantErr bool
	}{
		{nil, Filters{}, false},
		{[]string{"label=a=b", "label=c", "dangling=true"}, Filters{"label": {"a=b", "c"}, "dangling": {"true"}}, false},
		{[]string{"label"}, nil, true},
		{[]string{"label="}, nil, true},
		{[]string{"colour=red"}, nil, true},
	} {
		got, err := ParseFilters(tc.args, "label", "dangling")
		if (err != nil) != tc.wantErr {
			t.Errorf("ParseFilters(%q): err %v, want error %v", tc.args, err, tc.wantErr)
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("ParseFilters(%q) = %v, want %v", tc.args, got, tc.want)
		}
		for k, vs := range tc.want {
			if len(got[k]) != len(vs) {
				t.Errorf("ParseFilters(%q)[%s] = %v, want %v", tc.args, k, got[k], vs)
			}
		}
	}
}

func TestFilterMatchers(t *testing.T) {
	labels := map[string]string{"tier": "front", "empty": ""}
	for _, tc := range []struct {
		name string
		ok   func(string) bool
		v    string
		want bool
	}{
		{"label set", labelMatch(labels), "tier", true},
		{"label value", labelMatch(labels), "tier=front", true},
		{"label other value", labelMatch(labels), "tier=back", false},
		{"label empty value", labelMatch(labels), "empty=", true},
		{"label missing", labelMatch(labels), "team", false},
		{"reference name", patternMatch("app:1"), "app:1", true},
		{"reference repository", patternMatch("app:1"), "app", true},
		{"reference pattern", patternMatch("example.com/team/app:1"), "example.com/*/app:*", true},
		{"reference no match", patternMatch("app:1"), "ap", false},
	} {
		if got := tc.ok(tc.v); got != tc.want {
			t.Errorf("%s: %q gives %v, want %v", tc.name, tc.v, got, tc.want)
		}
	}
	// Values of one key match any; a key absent matches all.
	f := Filters{"status": {"exited", "created"}}
	if !f.match("status", func(v string) bool { return v == "created" }) || !f.match("name", func(string) bool { return false }) {
		t.Error("match: one value of a key, or an absent key, must pass")
	}
}

func TestSameRepo(t *testing.T) {
	for _, tc := range []struct {
		stored, arg string
		want        bool
	}{
		{"docker.io/library/busybox:1.36", "busybox", true},
		{"docker.io/library/busybox:1.36", "busybox:1.36", true},
		{"docker.io/library/busybox:1.36", "busybox:latest", false},
		{"docker.io/library/busybox:1.36", "docker.io/library/busybox", true},
		{"example.com/busybox:1", "busybox", false},
		{"localhost:5000/app:1", "localhost:5000/app", true},
	} {
		if got := sameRepo(tc.stored, tc.arg); got != tc.want {
			t.Errorf("sameRepo(%q, %q) = %v, want %v", tc.stored, tc.arg, got, tc.want)
		}
	}
}
