package build

import (
	"sort"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// env is what the shell lexer expands words with: the image's Env over the
// ARGs in scope (ENV wins over ARG, as in Docker).
type env map[string]string

func newEnv(imageEnv []string, args map[string]string) env {
	e := env{}
	for k, v := range args {
		e[k] = v
	}
	for _, kv := range imageEnv {
		k, v, _ := strings.Cut(kv, "=")
		e[k] = v
	}
	return e
}

func (e env) Get(key string) (string, bool) {
	v, ok := e[key]
	return v, ok
}

func (e env) Keys() []string {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var lexer = shell.NewLex('\\')

// expandWord expands one Dockerfile word as BuildKit's lexer does.
func expandWord(word string, e env) (string, error) {
	out, _, err := lexer.ProcessWord(word, e)
	return out, err
}

// setEnv sets key in a KEY=VALUE list, replacing its old value in place.
func setEnv(list []string, key, value string) []string {
	for i, kv := range list {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			list[i] = key + "=" + value
			return list
		}
	}
	return append(list, key+"="+value)
}
