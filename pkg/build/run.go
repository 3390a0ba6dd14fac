package build

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/layerctl/layerctl/pkg/container"
)

// StepError is a RUN step whose command failed.
type StepError struct {
	Step, Total int
	Code        int
}

func (e *StepError) Error() string {
	return fmt.Sprintf("step %d/%d RUN exit %d", e.Step, e.Total, e.Code)
}

// run runs a RUN step in a container of the stage's image and stores what
// it changed as a layer (none when it changed nothing). The container is
// removed whatever happens.
func (b *builder) run(ctx context.Context, st *stage, c *instructions.RunCommand, step, total int) error {
	if len(c.FlagsUsed) > 0 {
		return fmt.Errorf("RUN --%s is not supported", c.FlagsUsed[0])
	}
	args := b.commandLine(st, c.ShellDependantCmdLine)
	drop, err := b.recordStage(st)
	if err != nil {
		return err
	}
	defer drop()
	argEnv := b.usedArgs(st)
	noEntrypoint := ""
	ctr, err := b.store.Create(ctx, container.CreateOptions{Image: st.imageID.String(), Run: &container.RunConfig{
		Cmd: args, Entrypoint: &noEntrypoint, Env: append(append([]string(nil), st.cfg.Config.Env...), argEnv...),
		WorkingDir: st.cfg.Config.WorkingDir, User: st.cfg.Config.User, Net: b.opts.Network,
	}})
	if err != nil {
		return err
	}
	defer b.store.Remove(ctr.ID, true)
	out := b.stepOutput()
	code, err := b.store.Run(ctx, ctr.ID, container.Stdio{Stdout: out, Stderr: out})
	out.Flush()
	var se *container.StartError
	if errors.As(err, &se) {
		return fmt.Errorf("step %d/%d RUN: %w", step, total, err)
	}
	if err != nil {
		return err
	}
	if code != 0 {
		return &StepError{Step: step, Total: total, Code: code}
	}
	m, changed, err := b.store.CommitLayer(ctx, ctr.ID, b.clamp())
	if err != nil {
		return err
	}
	if changed {
		b.addLayer(st, m)
	}
	b.addHistory(st, b.layerHistory(st, c), !changed)
	return nil
}

// usedArgs are the ARGs in scope as KEY=VALUE, sorted: RUN sees them in
// its environment (below the image's Env) and its history names them.
func (b *builder) usedArgs(st *stage) []string {
	var out []string
	for k, v := range st.args {
		if !hasEnv(st.cfg.Config.Env, k) {
			out = append(out, k+"="+v)
		}
	}
	sort.Strings(out)
	return out
}

func hasEnv(list []string, key string) bool {
	for _, kv := range list {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			return true
		}
	}
	return false
}

// recordStage records the stage's layers as an image, so that a container
// can be made of them; drop removes that record once the container is gone.
func (b *builder) recordStage(st *stage) (drop func(), err error) {
	if st.imageID != "" {
		return func() {}, nil
	}
	id, err := b.store.PutConfig(st.cfg, "", st.baseLayers)
	if err != nil {
		return nil, err
	}
	st.imageID = id
	return func() {
		b.store.DropRecord(id)
		if st.imageID == id {
			st.imageID = ""
		}
	}, nil
}

// addLayer puts a new layer on top of the stage's image.
func (b *builder) addLayer(st *stage, m container.LayerMeta) {
	h, _ := v1.NewHash(m.DiffID.String())
	st.cfg.RootFS.DiffIDs = append(st.cfg.RootFS.DiffIDs, h)
	st.top, st.imageID = m.ChainID, ""
}
