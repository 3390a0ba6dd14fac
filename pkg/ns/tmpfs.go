package ns

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// Tmpfs is a new tmpfs mounted inside the container (docker run --tmpfs).
type Tmpfs struct {
	Target  string   // absolute path inside the container, created when missing
	Options []string // tmpfs parameters: size=, mode=, uid=, gid=, nr_inodes=
	// ReadOnly, Exec and Suid undo Docker's defaults (rw, noexec, nosuid);
	// a tmpfs is nodev as the rootfs is.
	ReadOnly, Exec, Suid bool
}

// tmpfsParams are the tmpfs parameters --tmpfs passes on.
var tmpfsParams = []string{"size", "mode", "uid", "gid", "nr_inodes", "nr_blocks"}

// ParseTmpfs reads docker run's --tmpfs PATH[:OPTIONS]: comma-separated
// tmpfs parameters (size=64m, mode=1777, ...) and the flags rw, ro, exec,
// noexec, suid, nosuid, nodev.
func ParseTmpfs(s string) (Tmpfs, error) {
	target, opts, _ := strings.Cut(s, ":")
	t := Tmpfs{Target: path.Clean(target)}
	if !path.IsAbs(target) || t.Target == "/" {
		return t, fmt.Errorf("--tmpfs %q: want an absolute path other than /", s)
	}
	for _, o := range strings.Split(opts, ",") {
		k, v, hasValue := strings.Cut(o, "=")
		switch {
		case o == "":
		case hasValue && slices.Contains(tmpfsParams, k) && v != "" && !strings.ContainsAny(v, ",\x00"):
			t.Options = append(t.Options, o)
		case o == "ro", o == "rw":
			t.ReadOnly = o == "ro"
		case o == "exec", o == "noexec":
			t.Exec = o == "exec"
		case o == "suid", o == "nosuid":
			t.Suid = o == "suid"
		case o == "nodev":
		default:
			return t, fmt.Errorf("--tmpfs %q: unknown option %q (want %s=, ro, rw, exec, noexec, suid, nosuid or nodev)", s, o, strings.Join(tmpfsParams, "=, "))
		}
	}
	return t, nil
}
