package ns

import (
	"fmt"
	"os"
	"path"
	"strings"
)

// Command combines an image's Entrypoint and Cmd with the user's overrides
// the way Docker does: an entrypoint override (even an empty one, which
// clears the entrypoint) also drops the image's Cmd, and arguments replace
// Cmd. The result is Entrypoint followed by Cmd.
func Command(entrypoint, cmd, argsOverride []string, entrypointOverride *string) []string {
	if entrypointOverride != nil {
		entrypoint = nil
		if *entrypointOverride != "" {
			entrypoint = []string{*entrypointOverride}
		}
		cmd = nil
	}
	if len(argsOverride) > 0 {
		cmd = argsOverride
	}
	out := make([]string, 0, len(entrypoint)+len(cmd))
	return append(append(out, entrypoint...), cmd...)
}

// envValue returns the last value of key in env, as execve's users see it.
func envValue(env []string, key string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}

// lookPath finds name in the colon-separated dirs the way a shell does, in
// the current root (the container's, once pivoted). Its error texts are
// Docker's.
func lookPath(name, dirs string) (string, *StartError) {
	if strings.Contains(name, "/") {
		if err := executable(name); err != nil {
			return "", startErrorFor(name, err)
		}
		return name, nil
	}
	for _, dir := range strings.Split(dirs, ":") {
		if dir == "" {
			dir = "."
		}
		p := path.Join(dir, name)
		if executable(p) == nil {
			return p, nil
		}
	}
	return "", &StartError{Code: CodeNotFound,
		Msg: fmt.Sprintf("exec: %q: executable file not found in $PATH", name)}
}

func executable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return os.ErrPermission
	}
	return nil
}

func startErrorFor(name string, err error) *StartError {
	code := CodeCannotRun
	if os.IsNotExist(err) {
		code = CodeNotFound
	}
	return &StartError{Code: code, Msg: fmt.Sprintf("exec: %q: %v", name, err)}
}
