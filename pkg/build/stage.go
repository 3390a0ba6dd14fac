package build

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	digest "github.com/opencontainers/go-digest"

	"github.com/layerctl/layerctl/pkg/container"
)

const historyComment = "buildkit.dockerfile.v0" // as BuildKit marks its history

// builder is one build's state.
type builder struct {
	store      *container.Store
	opts       Options
	file       string
	meta       map[string]string // ARGs before the first FROM
	built      map[int]*stage
	stageNames map[int]string
	step       int             // BuildKit's #N
	stepTime   time.Time       // the history time of the step being done
	start      time.Time       // when the build began
	contextDir string          // the context's absolute path
	digests    *contextDigests // the context's file digests, once a COPY needs them
	pulled     map[string]bool // FROM images pulled by --pull
}

// stage is a stage being built: its image so far.
type stage struct {
	name        string // "[name i/n]" in progress lines
	cfg         *v1.ConfigFile
	top         digest.Digest     // chain ID of the top layer, "" for none
	imageID     digest.Digest     // a record of these layers, "" when none yet
	args        map[string]string // ARGs in scope
	shell       []string
	cmdSet      bool          // CMD given in this stage (ENTRYPOINT then keeps it)
	key         digest.Digest // cache key of the last step
	baseHistory int           // history entries of the base
	baseLayers  int           // layers of the FROM image (through stages); user layers are above
}

func (b *builder) now() time.Time {
	if b.opts.Epoch != nil {
		return b.opts.Epoch.UTC()
	}
	return time.Now().UTC()
}

// evalArgs evaluates ARG lines: a --build-arg wins over the default, which
// is expanded with what came before.
func (b *builder) evalArgs(args []instructions.ArgCommand, e env) (map[string]string, error) {
	out := map[string]string{}
	for _, a := range args {
		for _, kv := range a.Args {
			if v, ok := b.opts.BuildArgs[kv.Key]; ok {
				out[kv.Key] = v
			} else if kv.Value != nil {
				v, err := expandWord(*kv.Value, e)
				if err != nil {
					return nil, err
				}
				out[kv.Key] = v
			} else if v, ok := b.meta[kv.Key]; ok {
				out[kv.Key] = v // an ARG in a stage takes the global default
			} else {
				continue
			}
			e[kv.Key] = out[kv.Key]
		}
	}
	return out, nil
}

// buildStage builds stage i: its base, then each instruction.
func (b *builder) buildStage(ctx context.Context, stages []instructions.Stage, i int, multi bool) error {
	def := stages[i]
	st := &stage{args: map[string]string{}, shell: []string{"/bin/sh", "-c"}}
	st.name = def.Name
	b.stageNames[i] = def.Name
	if st.name == "" && multi {
		st.name = fmt.Sprintf("stage-%d", i)
	}
	total := len(def.Commands) + 1
	b.step++
	b.progress(st, 1, total, "FROM "+def.BaseName)
	start := time.Now()
	base, err := expandWord(def.BaseName, newEnv(nil, b.meta))
	if err != nil {
		return b.fail(def.Location, err)
	}
	if err := b.checkPlatform(def.Platform); err != nil {
		return b.fail(def.Location, err)
	}
	triggers, err := b.from(ctx, stages, i, base, st)
	if err != nil {
		return b.fail(def.Location, err)
	}
	b.done(start)
	st.baseHistory = len(st.cfg.History)
	cmds := append(triggers, def.Commands...)
	for n, c := range cmds {
		if err := ctx.Err(); err != nil {
			return err
		}
		b.step++
		b.progress(st, min(n+2, total), total, instrText(c))
		start := time.Now()
		cached, err := b.dispatch(ctx, st, c, n+2, total)
		if err != nil {
			return b.fail(c.Location(), err)
		}
		if cached {
			fmt.Fprintf(b.opts.Progress, "#%d CACHED\n", b.step)
		} else {
			b.done(start)
		}
	}
	b.built[i] = st
	return nil
}

// from sets a stage's base: scratch, an earlier stage or a stored image
// (pulled when missing). It returns the base image's ONBUILD triggers,
// which run before the stage's own instructions.
func (b *builder) from(ctx context.Context, stages []instructions.Stage, i int, base string, st *stage) ([]instructions.Command, error) {
	if strings.EqualFold(base, "scratch") {
		st.cfg = &v1.ConfigFile{OS: runtime.GOOS, Architecture: runtime.GOARCH, RootFS: v1.RootFS{Type: "layers"}}
		st.key = b.fromKey("scratch")
		return nil, nil
	}
	if dep := stageRef(stages, i, base); dep >= 0 {
		prev := b.built[dep]
		st.cfg, st.top, st.imageID = cloneConfig(prev.cfg), prev.top, prev.imageID
		st.baseLayers = prev.baseLayers
		st.key, st.shell = b.fromKey("stage "+prev.key.String()), prev.shell
		return nil, nil
	}
	if b.opts.Pull && !b.pulled[base] {
		if _, err := b.store.Pull(ctx, base, pullOptions()); err != nil {
			return nil, fmt.Errorf("FROM %s: --pull: %w", base, err)
		}
		b.pulled[base] = true
	}
	id, cfg, err := b.store.ImageConfigFile(base)
	if err != nil && isNotFound(err) {
		if _, perr := b.store.Pull(ctx, base, pullOptions()); perr != nil {
			return nil, fmt.Errorf("FROM %s: %w", base, perr)
		}
		id, cfg, err = b.store.ImageConfigFile(base)
	}
	if err != nil {
		return nil, fmt.Errorf("FROM %s: %w", base, err)
	}
	st.cfg, st.imageID, st.key = cfg, id, b.fromKey("image "+id.String())
	st.baseLayers = len(cfg.RootFS.DiffIDs)
	if n := len(cfg.RootFS.DiffIDs); n > 0 {
		st.top = container.ChainIDs(diffIDs(cfg))[n-1]
	}
	if st.cfg.Config.Shell != nil {
		st.shell = st.cfg.Config.Shell
	}
	triggers := cfg.Config.OnBuild
	st.cfg.Config.OnBuild = nil // triggers run once, in the image built on it
	return parseTriggers(triggers)
}

// parseTriggers parses an image's ONBUILD instructions.
func parseTriggers(triggers []string) ([]instructions.Command, error) {
	var out []instructions.Command
	for _, t := range triggers {
		res, err := parser.Parse(strings.NewReader(t))
		if err != nil {
			return nil, fmt.Errorf("ONBUILD %s: %w", t, err)
		}
		for _, n := range res.AST.Children {
			c, err := instructions.ParseCommand(n)
			if err != nil {
				return nil, fmt.Errorf("ONBUILD %s: %w", t, err)
			}
			out = append(out, c)
		}
	}
	return out, nil
}

func diffIDs(cfg *v1.ConfigFile) []digest.Digest {
	out := make([]digest.Digest, len(cfg.RootFS.DiffIDs))
	for i, h := range cfg.RootFS.DiffIDs {
		out[i] = digest.Digest(h.String())
	}
	return out
}

func cloneConfig(cfg *v1.ConfigFile) *v1.ConfigFile {
	raw, _ := json.Marshal(cfg)
	var out v1.ConfigFile
	json.Unmarshal(raw, &out)
	return &out
}

// addHistory records an instruction in the image's history.
func (b *builder) addHistory(st *stage, createdBy string, emptyLayer bool) {
	st.cfg.History = append(st.cfg.History, v1.History{
		Created: v1.Time{Time: b.stepTime}, CreatedBy: createdBy, Comment: historyComment, EmptyLayer: emptyLayer,
	})
}

// fail names the Dockerfile line of a failed instruction.
func (b *builder) fail(loc []parser.Range, err error) error {
	if len(loc) > 0 {
		return fmt.Errorf("%s:%d: %w", b.file, loc[0].Start.Line, err)
	}
	return err
}

// instrText is an instruction as written, for progress lines.
func instrText(c instructions.Command) string {
	if s, ok := c.(fmt.Stringer); ok {
		return s.String()
	}
	return strings.ToUpper(c.Name())
}

// fromKey is a stage's first cache key: its base, and the build's fixed
// time if any (it is in every history entry).
func (b *builder) fromKey(base string) digest.Digest {
	epoch := ""
	if b.opts.Epoch != nil {
		epoch = b.opts.Epoch.UTC().String()
	}
	return chainKey("FROM", base, epoch)
}
