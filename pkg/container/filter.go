package container

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
)

// Filters are --filter KEY=VALUE flags grouped by key. As in Docker, an
// item matches when, for every key, it matches one of that key's values.
type Filters map[string][]string

// ParseFilters reads KEY=VALUE arguments, accepting only the keys given.
func ParseFilters(args []string, keys ...string) (Filters, error) {
	f := Filters{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || v == "" {
			return nil, fmt.Errorf("filter %q: want KEY=VALUE", a)
		}
		if !slices.Contains(keys, k) {
			return nil, fmt.Errorf("filter %q: unknown key %q (want %s)", a, k, strings.Join(keys, ", "))
		}
		f[k] = append(f[k], v)
	}
	return f, nil
}

// match tells whether, for key, one of the filter's values passes ok (true
// when the filter has no such key).
func (f Filters) match(key string, ok func(v string) bool) bool {
	vs, has := f[key]
	return !has || slices.ContainsFunc(vs, ok)
}

// labelMatch is Docker's label filter: "KEY" wants the label set, "KEY=VALUE"
// set to VALUE.
func labelMatch(labels map[string]string) func(string) bool {
	return func(v string) bool {
		k, want, hasValue := strings.Cut(v, "=")
		got, ok := labels[k]
		return ok && (!hasValue || got == want)
	}
}

// boolFilter checks a filter that takes true or false.
func (f Filters) boolFilter(key string) error {
	for _, v := range f[key] {
		if v != "true" && v != "false" {
			return fmt.Errorf("filter %s=%s: want true or false", key, v)
		}
	}
	return nil
}

// patternMatch is Docker's reference filter: a shell pattern matched
// against the short name ("busybox:1.36") and against its repository.
func patternMatch(short string) func(string) bool {
	return func(pattern string) bool {
		repo := short
		if i := strings.LastIndexByte(short, ':'); i > strings.LastIndexByte(short, '/') {
			repo = short[:i]
		}
		for _, s := range []string{short, repo} {
			if ok, _ := path.Match(pattern, s); ok {
				return true
			}
		}
		return false
	}
}

// checkPatterns refuses a malformed shell pattern or regular expression
// before anything is listed.
func (f Filters) checkPatterns() error {
	for _, p := range f["reference"] {
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("filter reference=%s: %w", p, err)
		}
	}
	for _, p := range f["name"] {
		if _, err := regexp.Compile(p); err != nil {
			return fmt.Errorf("filter name=%s: %w", p, err)
		}
	}
	return nil
}
