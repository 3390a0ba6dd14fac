package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	digest "github.com/opencontainers/go-digest"

	"github.com/layerctl/layerctl/pkg/container"
)

// Options describe a build.
type Options struct {
	Context    string            // the build context directory
	Dockerfile string            // "" for Context/Dockerfile
	Text       []byte            // the Dockerfile's text when not read from a file (-f -)
	Tags       []string          // names given to the image, already checked
	BuildArgs  map[string]string // --build-arg
	Target     string            // "" for the last stage
	Network    string            // container.NetHost (default) or container.NetNone
	Epoch      *time.Time        // --timestamp/SOURCE_DATE_EPOCH: every time in the image
	Progress   io.Writer         // step lines; nil for none
	NoCache    bool              // run every step, whatever the cache holds
	Pull       bool              // pull each FROM image, even one the store has
	Labels     map[string]string // --label: set on the image, as by a last LABEL
}

// Build builds the image the Dockerfile's target stage describes, names it
// with every tag and returns its ID. On error no image is named and no
// container is left.
func Build(ctx context.Context, s *container.Store, o Options) (digest.Digest, error) {
	if o.Dockerfile == "" {
		o.Dockerfile = filepath.Join(o.Context, "Dockerfile")
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.Network == "" {
		o.Network = container.NetHost
	}
	data, name := o.Text, "Dockerfile"
	if data == nil {
		var err error
		if data, err = os.ReadFile(o.Dockerfile); err != nil {
			return "", fmt.Errorf("read Dockerfile: %w", err)
		}
		name = filepath.Base(o.Dockerfile)
	}
	stages, metaArgs, err := parse(name, data)
	if err != nil {
		return "", err
	}
	b := &builder{store: s, opts: o, file: name, built: map[int]*stage{}, stageNames: map[int]string{}, pulled: map[string]bool{}, start: time.Now()}
	if b.contextDir, err = filepath.Abs(o.Context); err != nil {
		return "", fmt.Errorf("build context: %w", err)
	}
	platform := platformArgs()
	if b.meta, err = b.evalArgs(metaArgs, newEnv(nil, platform)); err != nil {
		return "", err
	}
	for k, v := range platform {
		if _, ok := b.meta[k]; !ok {
			b.meta[k] = v
		}
	}
	target, err := findTarget(stages, o.Target)
	if err != nil {
		return "", err
	}
	order, err := neededStages(stages, target, b.meta)
	if err != nil {
		return "", err
	}
	for _, i := range order {
		if err := b.buildStage(ctx, stages, i, len(order) > 1); err != nil {
			return "", err
		}
	}
	if err := b.saveContextDigests(); err != nil {
		return "", err
	}
	final := b.built[target]
	// The last step's time, not now: a build that is all cache hits gives
	// the same image.
	for k, v := range o.Labels {
		if final.cfg.Config.Labels == nil {
			final.cfg.Config.Labels = map[string]string{}
		}
		final.cfg.Config.Labels[k] = v
	}
	final.cfg.Created = v1.Time{Time: b.now()}
	if h := final.cfg.History; len(h) > 0 && len(h) > final.baseHistory {
		final.cfg.Created = h[len(h)-1].Created
	}
	if len(o.Tags) == 0 {
		id, err := s.PutConfig(final.cfg, "", final.baseLayers)
		if err != nil {
			return "", fmt.Errorf("record image: %w", err)
		}
		return id, nil
	}
	var id digest.Digest
	for _, t := range o.Tags { // each records the image too
		if id, err = s.PutConfig(final.cfg, t, final.baseLayers); err != nil {
			return "", fmt.Errorf("tag %s: %w", t, err)
		}
	}
	return id, nil
}

// parse reads a Dockerfile into stages and the ARGs before the first FROM.
// Its errors name the file and line.
func parse(name string, data []byte) ([]instructions.Stage, []instructions.ArgCommand, error) {
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		return nil, nil, located(name, err)
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, nil, located(name, err)
	}
	if len(stages) == 0 {
		return nil, nil, fmt.Errorf("%s: no FROM instruction", name)
	}
	return stages, metaArgs, nil
}

// located prefixes an error with the Dockerfile line BuildKit's parser
// found it on.
func located(name string, err error) error {
	var le *parser.LocationError
	if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 && le.Locations[0][0].Start.Line > 0 {
		return fmt.Errorf("%s:%d: %v", name, le.Locations[0][0].Start.Line, le.Unwrap())
	}
	return fmt.Errorf("%s: %v", name, err)
}

// findTarget is the index of the stage named target, or the last stage.
func findTarget(stages []instructions.Stage, target string) (int, error) {
	if target == "" {
		return len(stages) - 1, nil
	}
	for i, st := range stages {
		if strings.EqualFold(st.Name, target) {
			return i, nil
		}
	}
	return 0, fmt.Errorf("target stage %q not found", target)
}

// stageRef finds the earlier stage that name (a stage name or index) refers
// to from stage at, or -1 when it names an image.
func stageRef(stages []instructions.Stage, at int, name string) int {
	for i := 0; i < at; i++ {
		if strings.EqualFold(stages[i].Name, name) || fmt.Sprint(i) == name {
			return i
		}
	}
	return -1
}

// neededStages lists, in Dockerfile order, the stages target depends on
// through FROM and COPY --from, and target itself: as BuildKit, a stage
// nobody uses is not built.
func neededStages(stages []instructions.Stage, target int, meta map[string]string) ([]int, error) {
	need := map[int]bool{}
	var visit func(i int) error
	visit = func(i int) error {
		if need[i] {
			return nil
		}
		need[i] = true
		base, err := expandWord(stages[i].BaseName, newEnv(nil, meta))
		if err != nil {
			return err
		}
		refs := []string{base}
		for _, c := range stages[i].Commands {
			if cp, ok := c.(*instructions.CopyCommand); ok && cp.From != "" {
				refs = append(refs, cp.From)
			}
		}
		for _, r := range refs {
			if dep := stageRef(stages, i, r); dep >= 0 {
				if err := visit(dep); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := visit(target); err != nil {
		return nil, err
	}
	var order []int
	for i := range stages {
		if need[i] {
			order = append(order, i)
		}
	}
	return order, nil
}

// platformArgs are the ARGs BuildKit defines for every build: in scope of
// FROM lines and global ARGs, and in a stage that names them (ARG
// TARGETARCH). The build runs and targets this machine's platform.
func platformArgs() map[string]string {
	p, variant := hostPlatform()
	args := map[string]string{}
	for _, side := range []string{"BUILD", "TARGET"} {
		args[side+"PLATFORM"] = p
		args[side+"OS"] = runtime.GOOS
		args[side+"ARCH"] = runtime.GOARCH
		args[side+"VARIANT"] = variant
	}
	return args
}

// checkPlatform accepts FROM --platform only for this machine's platform:
// RUN steps run here, and no other platform's binaries would.
func (b *builder) checkPlatform(platform string) error {
	if platform == "" {
		return nil
	}
	p, err := expandWord(platform, newEnv(nil, b.meta))
	if err != nil {
		return err
	}
	here, _ := hostPlatform()
	if p != "" && p != here && p != runtime.GOOS+"/"+runtime.GOARCH {
		return fmt.Errorf("FROM --platform=%s: only this machine's platform (%s) is built", p, here)
	}
	return nil
}

// hostPlatform is this machine's platform as BuildKit names it
// (os/arch[/variant]), and its variant.
func hostPlatform() (platform, variant string) {
	if runtime.GOARCH == "arm" {
		variant = "v7"
	}
	platform = runtime.GOOS + "/" + runtime.GOARCH
	if variant != "" {
		platform += "/" + variant
	}
	return platform, variant
}
