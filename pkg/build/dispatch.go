package build

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// dispatch applies one instruction to the stage's image, or its cached
// result; cached tells which.
func (b *builder) dispatch(ctx context.Context, st *stage, c instructions.Command, step, total int) (cached bool, err error) {
	// The key holds the instruction as written and the values its
	// expansion used: an ARG that a step does not use is not in its key.
	vars := usedEnv{newEnv(st.cfg.Config.Env, st.args), map[string]struct{}{}}
	if ex, ok := c.(instructions.SupportsSingleWordExpansion); ok {
		if err := ex.Expand(func(w string) (string, error) { return expandWord(w, vars) }); err != nil {
			return false, err
		}
	}
	if ex, ok := c.(instructions.SupportsSingleWordExpansionRaw); ok {
		if err := ex.ExpandRaw(func(w string) (string, error) { return expandRaw(w, vars) }); err != nil {
			return false, err
		}
	}
	extra, err := b.stepExtra(ctx, st, c)
	if err != nil {
		return false, err
	}
	key := chainKey(st.key.String(), instrText(c), extra, strings.Join(vars.values(), "\x00"))
	e, hit := b.store.CacheGet(key)
	hit = hit && !b.opts.NoCache
	if hit && makesLayer(c) {
		if w, ok := c.(*instructions.WorkdirCommand); ok {
			if _, err := b.metadata(st, w); err != nil {
				return false, err
			}
		}
		b.cachedStep(st, e, b.layerHistory(st, c))
		st.key = key
		return true, nil
	}
	b.stepTime = b.now()
	if hit { // a metadata step: redone, at its first time
		b.stepTime = e.Created
	}
	layersBefore := len(st.cfg.RootFS.DiffIDs)
	if err := b.apply(ctx, st, c, step, total); err != nil {
		return false, err
	}
	st.key = key
	done := entryFor(st, layersBefore, b.stepTime)
	if hit && sameEntry(e, done) { // a cached build writes no step records
		return false, nil
	}
	return false, b.store.CachePut(key, done)
}

// apply does one instruction.
func (b *builder) apply(ctx context.Context, st *stage, c instructions.Command, step, total int) error {
	switch c := c.(type) {
	case *instructions.RunCommand:
		return b.run(ctx, st, c, step, total)
	case *instructions.CopyCommand:
		return b.copy(ctx, st, copyRequestOf(c))
	case *instructions.AddCommand:
		return b.copy(ctx, st, copyRequestOf(c))
	case *instructions.ArgCommand:
		return b.arg(st, c)
	case *instructions.WorkdirCommand:
		return b.workdir(ctx, st, c)
	}
	createdBy, err := b.metadata(st, c)
	if err != nil {
		return err
	}
	b.addHistory(st, createdBy, true)
	return nil
}

// arg brings ARGs into scope; they reach RUN's environment, never the
// image's Env.
func (b *builder) arg(st *stage, c *instructions.ArgCommand) error {
	vals, err := b.evalArgs([]instructions.ArgCommand{*c}, newEnv(st.cfg.Config.Env, st.args))
	if err != nil {
		return err
	}
	var parts []string
	for _, kv := range c.Args {
		if v, ok := vals[kv.Key]; ok {
			st.args[kv.Key] = v
		}
		parts = append(parts, kv.String())
	}
	b.addHistory(st, "ARG "+strings.Join(parts, " "), true)
	return nil
}

// metadata applies an instruction that changes only the config and returns
// its history line, as BuildKit writes it.
func (b *builder) metadata(st *stage, c instructions.Command) (string, error) {
	cfg := &st.cfg.Config
	switch c := c.(type) {
	case *instructions.EnvCommand:
		var parts []string
		for _, kv := range c.Env {
			cfg.Env = setEnv(cfg.Env, kv.Key, kv.Value)
			parts = append(parts, kv.String())
		}
		return "ENV " + strings.Join(parts, " "), nil
	case *instructions.LabelCommand:
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		var parts []string
		for _, kv := range c.Labels {
			cfg.Labels[kv.Key] = kv.Value
			parts = append(parts, kv.String())
		}
		return "LABEL " + strings.Join(parts, " "), nil
	case *instructions.MaintainerCommand:
		st.cfg.Author = c.Maintainer
		return "MAINTAINER " + c.Maintainer, nil
	case *instructions.WorkdirCommand:
		dir := c.Path
		if !path.IsAbs(dir) {
			dir = path.Join("/", cfg.WorkingDir, dir)
		}
		cfg.WorkingDir = path.Clean(dir)
		return "WORKDIR " + cfg.WorkingDir, nil
	case *instructions.UserCommand:
		cfg.User = c.User
		return "USER " + c.User, nil
	case *instructions.CmdCommand:
		cfg.Cmd = b.commandLine(st, c.ShellDependantCmdLine)
		st.cmdSet = true
		return fmt.Sprintf("CMD %q", cfg.Cmd), nil
	case *instructions.EntrypointCommand:
		cfg.Entrypoint = b.commandLine(st, c.ShellDependantCmdLine)
		if !st.cmdSet {
			cfg.Cmd = nil // the inherited Cmd was written for the old entrypoint
		}
		return fmt.Sprintf("ENTRYPOINT %q", cfg.Entrypoint), nil
	case *instructions.ShellCommand:
		st.shell = append([]string(nil), c.Shell...)
		cfg.Shell = st.shell
		return fmt.Sprintf("SHELL %q", c.Shell), nil
	}
	return b.moreMetadata(st, c)
}

// moreMetadata is metadata's second half: ports, volumes and the rest.
func (b *builder) moreMetadata(st *stage, c instructions.Command) (string, error) {
	cfg := &st.cfg.Config
	switch c := c.(type) {
	case *instructions.ExposeCommand:
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = map[string]struct{}{}
		}
		e := newEnv(cfg.Env, st.args)
		var ports []string
		for _, p := range c.Ports {
			words, err := lexer.ProcessWords(p, e)
			if err != nil {
				return "", err
			}
			for _, w := range words {
				if !strings.Contains(w, "/") {
					w += "/tcp"
				}
				cfg.ExposedPorts[w] = struct{}{}
				ports = append(ports, w)
			}
		}
		sort.Strings(ports)
		return fmt.Sprintf("EXPOSE map[%s]", strings.Join(ports, ":{} ")+":{}"), nil
	case *instructions.VolumeCommand:
		if cfg.Volumes == nil {
			cfg.Volumes = map[string]struct{}{}
		}
		for _, v := range c.Volumes {
			cfg.Volumes[v] = struct{}{}
		}
		return fmt.Sprintf("VOLUME %v", c.Volumes), nil
	case *instructions.StopSignalCommand:
		cfg.StopSignal = c.Signal
		return "STOPSIGNAL " + c.Signal, nil
	case *instructions.HealthCheckCommand:
		h := c.Health
		cfg.Healthcheck = &v1.HealthConfig{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod, Retries: h.Retries}
		return fmt.Sprintf("HEALTHCHECK %q", h.Test), nil
	case *instructions.OnbuildCommand:
		cfg.OnBuild = append(cfg.OnBuild, c.Expression)
		return "ONBUILD " + c.Expression, nil
	}
	return "", fmt.Errorf("%s is not supported", c.Name())
}

// commandLine is a CMD, ENTRYPOINT or RUN in exec form, or its shell form
// run by the stage's SHELL.
func (b *builder) commandLine(st *stage, c instructions.ShellDependantCmdLine) []string {
	if !c.PrependShell {
		return append([]string(nil), c.CmdLine...)
	}
	line := strings.Join(c.CmdLine, " ")
	if len(c.Files) == 1 && isHeredocOnly(line, c.Files[0].Name) {
		// "RUN <<EOF": the heredoc is the script, as BuildKit runs it.
		return append(append([]string(nil), st.shell...), c.Files[0].Data)
	}
	for _, f := range c.Files { // heredocs: the shell reads them from the script
		line += "\n" + f.Data + f.Name
	}
	return append(append([]string(nil), st.shell...), line)
}

// isHeredocOnly tells a command line that is nothing but one heredoc's
// start ("<<EOF", "<<-EOF", "<<'EOF'").
func isHeredocOnly(line, name string) bool {
	w := strings.TrimPrefix(strings.TrimSpace(line), "<<")
	w = strings.Trim(strings.TrimPrefix(w, "-"), `"'`)
	return w == name
}

// layerHistory is the history line of a RUN, COPY or ADD, as BuildKit
// writes it.
func (b *builder) layerHistory(st *stage, c instructions.Command) string {
	switch c := c.(type) {
	case *instructions.RunCommand:
		args := strings.Join(b.commandLine(st, c.ShellDependantCmdLine), " ")
		if argEnv := b.usedArgs(st); len(argEnv) > 0 {
			return fmt.Sprintf("RUN |%d %s %s # buildkit", len(argEnv), strings.Join(argEnv, " "), args)
		}
		return "RUN " + args + " # buildkit"
	case *instructions.WorkdirCommand:
		return "WORKDIR " + st.cfg.Config.WorkingDir
	}
	return copyRequestOf(c).history()
}

// copyRequestOf is a COPY or ADD as a copyRequest.
func copyRequestOf(c instructions.Command) copyRequest {
	if c, ok := c.(*instructions.AddCommand); ok {
		return copyRequest{SourcesAndDest: c.SourcesAndDest, chown: c.Chown, chmod: c.Chmod, link: c.Link, excludes: c.ExcludePatterns, name: "ADD", add: true, checksum: c.Checksum}
	}
	cp := c.(*instructions.CopyCommand)
	return copyRequest{SourcesAndDest: cp.SourcesAndDest, from: cp.From, chown: cp.Chown, chmod: cp.Chmod, link: cp.Link, parents: cp.Parents, excludes: cp.ExcludePatterns, name: "COPY"}
}
