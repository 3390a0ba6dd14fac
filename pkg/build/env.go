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

// rawLexer expands a heredoc's text (COPY <<EOF with an unquoted word):
// variables only, quotes kept, as BuildKit's ExpandRaw does.
var rawLexer = func() *shell.Lex {
	l := shell.NewLex('\\')
	l.SkipProcessQuotes = true
	return l
}()

// expandRaw expands a heredoc's text as BuildKit's raw lexer does.
func expandRaw(text string, e shell.EnvGetter) (string, error) {
	out, _, err := rawLexer.ProcessWord(text, e)
	return out, err
}

// expandWord expands one Dockerfile word as BuildKit's lexer does.
func expandWord(word string, e shell.EnvGetter) (string, error) {
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

// usedEnv notes the variables an expansion looks up: a step's cache key
// holds their values and no other ARG's, as BuildKit's does.
type usedEnv struct {
	env
	used map[string]struct{}
}

func (u usedEnv) Get(key string) (string, bool) {
	u.used[key] = struct{}{}
	return u.env.Get(key)
}

// Keys is asked for by expansions over many names: all count as used.
func (u usedEnv) Keys() []string {
	for k := range u.env {
		u.used[k] = struct{}{}
	}
	return u.env.Keys()
}

// values lists the used variables as KEY=VALUE (KEY alone for one not
// set), sorted.
func (u usedEnv) values() []string {
	out := make([]string, 0, len(u.used))
	for k := range u.used {
		if v, ok := u.env[k]; ok {
			out = append(out, k+"="+v)
		} else {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
