package prespawn

// Reading is what ReadRun finds in a run's command line: what its init
// step's start depends on.
type Reading struct {
	Net                      string // the --network value: "none" unless given
	TTY, Interactive, Detach bool
}

// Value-taking flags: the global ones (before the command) and run's. Every
// other global flag is a bool; a run flag in neither table of run's makes
// ReadRun give up. cmd/layerctl checks both tables against its flags.
var (
	GlobalValueFlags = []string{"root", "driver", "log-level"}
	RunValueFlags    = []string{
		"name", "hostname", "add-host", "dns", "volume", "v", "mount", "tmpfs", "env", "e",
		"workdir", "w", "user", "u", "entrypoint", "memory", "m", "cpus", "pids-limit",
		"network", "net", "label", "l", "env-file", "publish", "p", "group-add", "ulimit",
		"stop-signal", "stop-timeout", "cap-add", "cap-drop", "security-opt",
	}
	RunBoolFlags = []string{"rm", "interactive", "i", "tty", "t", "detach", "d", "read-only", "init", "privileged"}
)

// The command words ReadRun looks for: run, also as `container run`.
const (
	runCommand   = "run"
	groupCommand = "container"
	netNone      = "none"
)

// ReadRun reads a command line (args: without the program's name) as the
// CLI would, far enough to tell a run and the flags its init step's start
// depends on; not ok for any other command, a flag it does not know, or
// no image.
func ReadRun(args []string) (Reading, bool) {
	i := CommandIndex(args)
	if i < 0 || args[i] != runCommand {
		return Reading{}, false
	}
	return readRunFlags(args[i+1:])
}

// CommandIndex is where the command is in args (a command line without the
// program's name): past the global flags (and their values) and the group
// word `container`; -1 for none.
func CommandIndex(args []string) int {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return -1
		case len(a) > 1 && a[0] == '-':
			if n := trimDashes(a); !contains(n, '=') && in(GlobalValueFlags, n) {
				i++ // the flag's value
			}
		case a == groupCommand:
		default:
			return i
		}
	}
	return -1
}

// readRunFlags reads run's flags in args, up to the image, as urfave/cli
// would (long and short forms, combined short bools, --name=value).
func readRunFlags(args []string) (Reading, bool) {
	r := Reading{Net: netNone}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return r, false
		}
		if len(a) < 2 || a[0] != '-' {
			return r, true // the image
		}
		names := []string{trimDashes(a)}
		if a[1] != '-' && len(a) > 2 && !contains(a, '=') {
			names = names[:0] // -it: -i -t
			for j := 1; j < len(a); j++ {
				names = append(names, a[j:j+1])
			}
		}
		for j, n := range names {
			n, value, hasValue := cut(n, '=')
			switch {
			case in(RunBoolFlags, n):
				b := true
				if hasValue {
					var ok bool
					if b, ok = parseBool(value); !ok {
						return r, false
					}
				}
				r.set(n, b)
				continue
			case !in(RunValueFlags, n):
				return r, false
			}
			if !hasValue {
				if rest := join(names[j+1:]); rest != "" {
					value = rest // -eK=V
				} else if i+1 < len(args) {
					i++
					value = args[i]
				} else {
					return r, false
				}
			}
			if n == "network" || n == "net" {
				r.Net = value
			}
			break
		}
	}
	return r, false
}

func (r *Reading) set(name string, b bool) {
	switch name {
	case "tty", "t":
		r.TTY = b
	case "interactive", "i":
		r.Interactive = b
	case "detach", "d":
		r.Detach = b
	}
}

// parseBool is strconv.ParseBool, which this package does without.
func parseBool(s string) (bool, bool) {
	switch s {
	case "1", "t", "T", "true", "TRUE", "True":
		return true, true
	case "0", "f", "F", "false", "FALSE", "False":
		return false, true
	}
	return false, false
}

func trimDashes(s string) string {
	for len(s) > 0 && s[0] == '-' {
		s = s[1:]
	}
	return s
}

func contains(s string, c byte) bool {
	_, _, found := cut(s, c)
	return found
}

func cut(s string, c byte) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func in(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func join(parts []string) string {
	s := ""
	for _, p := range parts {
		s += p
	}
	return s
}
