package image

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"syscall"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Changeable lists the Dockerfile instructions a commit's --change takes.
const Changeable = "CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE, VOLUME, STOPSIGNAL"

// SignalParser reads a signal name ("SIGTERM", "15") for STOPSIGNAL. The
// launcher owns signal names (ns.ParseSignal); its caller passes it in, as
// pkg/image must not import the launcher.
type SignalParser func(name string) (syscall.Signal, error)

// ApplyChange applies one Dockerfile-style instruction ("CMD ["/bin/sh"]",
// "ENV A=1") to an image config, as docker commit --change does. A
// STOPSIGNAL is checked with parseSignal.
func ApplyChange(cfg *v1.Config, line string, parseSignal SignalParser) error {
	// A Dockerfile separates an instruction from its arguments by any blank.
	instr, args := strings.TrimSpace(line), ""
	if i := strings.IndexAny(instr, " \t"); i >= 0 {
		instr, args = instr[:i], strings.TrimSpace(instr[i+1:])
	}
	if args == "" {
		return fmt.Errorf("--change %q: %s needs arguments", line, instr)
	}
	var err error
	switch strings.ToUpper(instr) {
	case "CMD":
		cfg.Cmd, err = commandForm(args)
	case "ENTRYPOINT":
		cfg.Entrypoint, err = commandForm(args)
	case "ENV":
		// $VAR and ${VAR} take the image's values from before this line,
		// as in a Dockerfile (ENV PATH=$PATH:/opt/bin).
		before := append([]string{}, cfg.Env...) // not nil: expand even when empty
		err = keyValues(args, true, before, func(k, v string) { cfg.Env = setEnv(cfg.Env, k, v) })
	case "LABEL":
		err = keyValues(args, false, nil, func(k, v string) {
			if cfg.Labels == nil {
				cfg.Labels = map[string]string{}
			}
			cfg.Labels[k] = v
		})
	case "WORKDIR":
		dir := unquote(args)
		if !path.IsAbs(dir) {
			dir = path.Join("/", cfg.WorkingDir, dir)
		}
		cfg.WorkingDir = path.Clean(dir)
	case "USER":
		cfg.User = unquote(args)
	case "EXPOSE":
		err = expose(cfg, args)
	case "VOLUME":
		var vols []string
		if vols, err = listForm(args); err == nil {
			if cfg.Volumes == nil {
				cfg.Volumes = map[string]struct{}{}
			}
			for _, v := range vols {
				cfg.Volumes[v] = struct{}{}
			}
		}
	case "STOPSIGNAL":
		sig := unquote(args)
		if parseSignal == nil {
			err = fmt.Errorf("STOPSIGNAL cannot be checked: no signal parser given")
		} else if _, err = parseSignal(sig); err == nil {
			cfg.StopSignal = sig
		}
	default:
		return fmt.Errorf("--change %q: unknown instruction %q (want one of %s)", line, instr, Changeable)
	}
	if err != nil {
		return fmt.Errorf("--change %q: %w", line, err)
	}
	return nil
}

// commandForm reads the exec form ["a","b"] or the shell form, which runs
// under /bin/sh -c.
func commandForm(args string) ([]string, error) {
	if strings.HasPrefix(args, "[") {
		var list []string
		if err := json.Unmarshal([]byte(args), &list); err != nil {
			return nil, fmt.Errorf("bad JSON array: %v", err)
		}
		return list, nil
	}
	return []string{"/bin/sh", "-c", args}, nil
}

// listForm reads a JSON array or space-separated words.
func listForm(args string) ([]string, error) {
	if strings.HasPrefix(args, "[") {
		return commandForm(args)
	}
	return splitWords(args)
}

// keyValues reads "K=V K2="V 2"" or, for ENV only, the old "K V" form.
func keyValues(args string, oldForm bool, env []string, set func(k, v string)) error {
	words, err := splitWordsEnv(args, env)
	if err != nil {
		return err
	}
	if oldForm && !strings.Contains(words[0], "=") {
		// "ENV KEY VALUE": the value is the rest of the line, after any
		// blanks; Docker refuses a KEY without one.
		k := words[0]
		if len(words) < 2 || k == "" || strings.ContainsAny(k, " \t") {
			return fmt.Errorf("want KEY=VALUE or KEY VALUE, got %q", args)
		}
		i := strings.IndexAny(args, " \t") // ends the first word, which holds no blank
		v := strings.TrimSpace(args[i:])
		if w, err := splitWordsEnv(v, env); err == nil && len(w) == 1 {
			v = w[0]
		}
		set(k, v)
		return nil
	}
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok || k == "" {
			return fmt.Errorf("want KEY=VALUE, got %q", w)
		}
		set(k, v)
	}
	return nil
}

func setEnv(env []string, k, v string) []string {
	for i, e := range env {
		if name, _, _ := strings.Cut(e, "="); name == k {
			env[i] = k + "=" + v
			return env
		}
	}
	return append(env, k+"="+v)
}

func expose(cfg *v1.Config, args string) error {
	words, err := splitWords(args)
	if err != nil {
		return err
	}
	for _, w := range words {
		port, proto, ok := strings.Cut(w, "/")
		if !ok {
			proto = "tcp"
		}
		var n int
		if _, err := fmt.Sscanf(port, "%d", &n); err != nil || n < 1 || n > 65535 || fmt.Sprint(n) != port {
			return fmt.Errorf("bad port %q", w)
		}
		if proto != "tcp" && proto != "udp" && proto != "sctp" {
			return fmt.Errorf("bad protocol in %q", w)
		}
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = map[string]struct{}{}
		}
		cfg.ExposedPorts[port+"/"+proto] = struct{}{}
	}
	return nil
}

// splitWords splits on blanks, keeping what double or single quotes hold
// together and honouring backslash escapes outside single quotes.
func splitWords(s string) ([]string, error) { return splitWordsEnv(s, nil) }

// splitWordsEnv is splitWords that also replaces $VAR and ${VAR} outside
// single quotes with their values in env, when env is not nil.
func splitWordsEnv(s string, env []string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	escaped := false
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case r == '\\' && quote != '\'':
			escaped, inWord = true, true
		case r == '$' && env != nil && quote != '\'':
			name, n := varName(rs[i+1:])
			if n == 0 {
				cur.WriteRune(r)
			} else {
				cur.WriteString(lookupEnv(env, name))
				i += n
			}
			inWord = true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 || escaped {
		return nil, fmt.Errorf("unterminated quote or escape in %q", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("no arguments")
	}
	return words, nil
}

// varName reads the name after a '$': "{NAME}" or NAME; n is how many runes
// it took (0: no name, the '$' is literal).
func varName(rs []rune) (name string, n int) {
	if len(rs) > 0 && rs[0] == '{' {
		for i := 1; i < len(rs); i++ {
			if rs[i] == '}' {
				return string(rs[1:i]), i + 1
			}
		}
		return "", 0
	}
	for n < len(rs) && (rs[n] == '_' || rs[n] >= 'a' && rs[n] <= 'z' || rs[n] >= 'A' && rs[n] <= 'Z' || n > 0 && rs[n] >= '0' && rs[n] <= '9') {
		n++
	}
	return string(rs[:n]), n
}

func lookupEnv(env []string, name string) string {
	for _, e := range env {
		if k, v, _ := strings.Cut(e, "="); k == name {
			return v
		}
	}
	return ""
}

func unquote(s string) string {
	if w, err := splitWords(s); err == nil && len(w) == 1 {
		return w[0]
	}
	return s
}
