package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	digest "github.com/opencontainers/go-digest"

	"github.com/layerctl/layerctl/pkg/image"
)

// ImageConfig is what listings show of an image's config.
type ImageConfig struct {
	Created    time.Time
	Labels     map[string]string
	Entrypoint []string
	Cmd        []string
}

// listedConfig reads the parts of an image's config listings show.
func (c *Store) listedConfig(id digest.Digest) (ImageConfig, error) {
	raw, err := c.layers.Blob(id)
	if err != nil {
		return ImageConfig{}, err
	}
	// Only these fields: decoding the whole v1.ConfigFile (history, rootfs,
	// the rest of the config) costs a listing more than reading the file.
	var f struct {
		Created v1.Time `json:"created"`
		Config  struct {
			Labels     map[string]string
			Entrypoint []string
			Cmd        []string
		} `json:"config"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return ImageConfig{}, fmt.Errorf("image %s: parse config: %w", shortID(id), err)
	}
	return ImageConfig{Created: f.Created.Time, Labels: f.Config.Labels, Entrypoint: f.Config.Entrypoint, Cmd: f.Config.Cmd}, nil
}

// ImageSummary is a line of images: an image under one of its names.
type ImageSummary struct {
	image.Record
	Name       string // stored form; "" for an image without a name (dangling)
	Config     ImageConfig
	Containers int // containers made of the image
}

// ImageFilterKeys are the keys ListImages filters on.
var ImageFilterKeys = []string{"dangling", "label", "reference"}

// ListImages lists images, one summary per name, newest first. A non-empty
// repo keeps the names of that repository ("busybox"), or that one name
// ("busybox:1.36"), as docker images REPOSITORY[:TAG] does. Containers are
// counted only when countContainers: that reads every container's record.
func (c *Store) ListImages(repo string, f Filters, countContainers bool) ([]ImageSummary, error) {
	if err := errors.Join(f.boolFilter("dangling"), f.checkPatterns()); err != nil {
		return nil, err
	}
	recs, err := c.images.List()
	if err != nil {
		return nil, err
	}
	refs, err := c.images.Refs()
	if err != nil {
		return nil, err
	}
	names := map[digest.Digest][]string{}
	for n, id := range refs {
		names[id] = append(names[id], n)
	}
	var ctrs []State
	if countContainers {
		if ctrs, err = c.List(); err != nil {
			return nil, err
		}
	}
	var out []ImageSummary
	for _, r := range recs {
		cfg, err := c.listedConfig(r.ID)
		if err != nil {
			return nil, err
		}
		if !f.match("label", labelMatch(cfg.Labels)) {
			continue
		}
		n := 0
		for _, s := range ctrs {
			if s.Image == r.ID {
				n++
			}
		}
		ns := names[r.ID]
		slices.Sort(ns)
		if len(ns) == 0 {
			ns = []string{""}
		}
		for _, name := range ns {
			if keepImageName(name, repo, f) {
				out = append(out, ImageSummary{Record: r, Name: name, Config: cfg, Containers: n})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b ImageSummary) int { return b.Config.Created.Compare(a.Config.Created) })
	return out, nil
}

// keepImageName applies the filters that look at a name ("" for none).
func keepImageName(name, repo string, f Filters) bool {
	dangling := fmt.Sprint(name == "")
	if !f.match("dangling", func(v string) bool { return v == dangling }) {
		return false
	}
	if repo != "" && (name == "" || !sameRepo(name, repo)) {
		return false
	}
	return name == "" && len(f["reference"]) == 0 || name != "" && f.match("reference", patternMatch(image.ShortName(name)))
}

// sameRepo: stored is in the repository arg names or, when arg has a tag,
// is that very name.
func sameRepo(stored, arg string) bool {
	full := image.NormalizeName(arg)
	if strings.Contains(arg[strings.LastIndexByte(arg, '/')+1:], ":") {
		return stored == full
	}
	r1, _ := image.SplitName(stored)
	r2, _ := image.SplitName(full)
	return r1 == r2
}

// ContainerSummary is a line of ps.
type ContainerSummary struct {
	State
	Status     string   // State.Status(), settled
	ImageShown string   // the name the container was made with while it still names its image, else the short ID
	Command    []string // what its process runs (or would run)
	Labels     map[string]string
}

// ContainerFilterKeys are the keys ListContainers filters on.
var ContainerFilterKeys = []string{"status", "name", "id", "ancestor", "label"}

// ListContainers lists containers, newest first, each record settled (see
// Refresh). Without all, only running and mounted ones, unless a status
// filter asks for others (as Docker's does).
func (c *Store) ListContainers(all bool, f Filters) ([]ContainerSummary, error) {
	if err := f.checkPatterns(); err != nil {
		return nil, err
	}
	ancestors, err := c.ancestorChains(f["ancestor"])
	if err != nil {
		return nil, err
	}
	states, err := c.List()
	if err != nil {
		return nil, err
	}
	refs, err := c.images.Refs()
	if err != nil {
		return nil, err
	}
	all = all || len(f["status"]) > 0
	configs := map[digest.Digest]ImageConfig{}
	var out []ContainerSummary
	for _, s := range states {
		if s, err = c.Refresh(s); errors.Is(err, ErrNotFound) {
			continue // removed meanwhile (run --rm ending)
		} else if err != nil {
			return nil, err
		}
		if !all && s.Pid == 0 && s.MountCount == 0 {
			continue
		}
		sum := ContainerSummary{State: s, Status: s.Status(), ImageShown: s.ImageName}
		if sum.ImageShown == "" || refs[sum.ImageShown] != s.Image {
			sum.ImageShown = shortID(s.Image)
		}
		cfg, ok := configs[s.Image] // containers of one image read its config once
		if !ok {
			cfg, err = c.listedConfig(s.Image)
			configs[s.Image] = cfg
		}
		if err == nil { // an image's config may be gone with the image: no labels then
			sum.Labels = cfg.Labels
			sum.Command = runCommand(cfg, s.Run)
		}
		if s.Run != nil && len(s.Run.Labels) > 0 {
			sum.Labels = maps.Clone(sum.Labels)
			if sum.Labels == nil {
				sum.Labels = map[string]string{}
			}
			maps.Copy(sum.Labels, s.Run.Labels)
		}
		if keepContainer(sum, f, ancestors) {
			out = append(out, sum)
		}
	}
	return out, nil
}

// runCommand is the command a container's process runs: its overrides of
// the image's entrypoint and command.
func runCommand(cfg ImageConfig, rc *RunConfig) []string {
	ep, cmd := cfg.Entrypoint, cfg.Cmd
	if rc != nil {
		if rc.Entrypoint != nil {
			ep, cmd = strings.Fields(*rc.Entrypoint), nil
		}
		if len(rc.Cmd) > 0 {
			cmd = rc.Cmd
		}
	}
	return append(slices.Clone(ep), cmd...)
}

// ancestorChains resolves ancestor filters to the layer chains of images: a
// container descends from an image when its chain starts with the image's.
func (c *Store) ancestorChains(refs []string) ([][]digest.Digest, error) {
	var chains [][]digest.Digest
	for _, ref := range refs {
		r, err := c.images.Resolve(ref)
		if err != nil {
			return nil, fmt.Errorf("filter ancestor=%s: %w", ref, err)
		}
		chains = append(chains, r.ChainIDs)
	}
	return chains, nil
}

func keepContainer(sum ContainerSummary, f Filters, ancestors [][]digest.Digest) bool {
	status, _, _ := strings.Cut(sum.Status, " ") // "exited (0)" is exited
	return f.match("status", func(v string) bool { return v == status }) &&
		f.match("name", func(v string) bool { return regexp.MustCompile(v).MatchString(sum.Name) }) &&
		f.match("id", func(v string) bool { return strings.HasPrefix(sum.ID, v) }) &&
		f.match("label", labelMatch(sum.Labels)) &&
		(len(ancestors) == 0 || slices.ContainsFunc(ancestors, func(chain []digest.Digest) bool {
			return len(chain) <= len(sum.ChainIDs) && slices.Equal(chain, sum.ChainIDs[:len(chain)])
		}))
}
