package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"text/template"
	"time"

	digest "github.com/opencontainers/go-digest"
	"github.com/urfave/cli/v2"

	"github.com/layerctl/layerctl/pkg/container"
	"github.com/layerctl/layerctl/pkg/image"
)

// imageInspect is what inspect prints for an image: Docker's field names
// where Docker has them.
type imageInspect struct {
	ID          string          `json:"Id"`
	RepoTags    []string        `json:"RepoTags"`
	RepoDigests []string        `json:"RepoDigests"`
	Created     string          `json:"Created,omitempty"`
	Author      string          `json:"Author,omitempty"`
	Os          string          `json:"Os"`
	Arch        string          `json:"Architecture"`
	Variant     string          `json:"Variant,omitempty"`
	Size        int64           `json:"Size"`
	RootFS      rootFS          `json:"RootFS"`
	ChainIDs    []digest.Digest `json:"ChainIDs"`
	Manifest    digest.Digest   `json:"Manifest,omitempty"`
	Source      string          `json:"Source,omitempty"`
	Config      json.RawMessage `json:"Config"`
}

type rootFS struct {
	Type   string          `json:"Type"`
	Layers []digest.Digest `json:"Layers"`
}

var inspectCommand = &cli.Command{
	Name:      "inspect",
	Usage:     "show containers or images as JSON (several: a JSON array)",
	ArgsUsage: "IMAGE|CONTAINER...",
	Flags: []cli.Flag{&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "json",
		Usage: "`FORMAT`: json, or a Go template run on each object's JSON ('{{.State.Status}}', '{{json .Config}}')"}},
	Action: func(c *cli.Context) error {
		if c.NArg() < 1 {
			return fmt.Errorf("inspect: want IMAGE or CONTAINER...")
		}
		var tmpl *template.Template
		if f := c.String("format"); f != "json" {
			t, err := parseTemplate(f)
			if err != nil {
				return fmt.Errorf("inspect: %w", err)
			}
			tmpl = t
		}
		s, err := openStores(c)
		if err != nil {
			return err
		}
		defer s.Close()
		// As docker inspect: what is found is printed, and an error for
		// each name that is not, after.
		var found []any
		var errs []error
		for _, arg := range c.Args().Slice() {
			v, err := inspectOne(s, arg)
			if err != nil {
				errs = append(errs, fmt.Errorf("inspect %s: %w", arg, err))
				continue
			}
			found = append(found, v)
		}
		if err := printInspected(found, c.NArg() > 1, tmpl); err != nil {
			return err
		}
		return errors.Join(errs...)
	},
}

// inspectOne describes a container or, when none has that name or ID, an
// image.
func inspectOne(s *container.Store, arg string) (any, error) {
	// A container name or ID wins over an image of the same name, as in Docker.
	if info, err := s.Inspect(arg); err == nil {
		return containerJSON(info), nil
	}
	r, err := s.ResolveImage(arg)
	if err != nil {
		return nil, err
	}
	return inspectImage(s, r)
}

// printInspected prints one object as JSON, several as a JSON array, or
// runs the template on each object's JSON (field names as JSON has them,
// .Id, .State.Running, as in Docker).
func printInspected(found []any, several bool, tmpl *template.Template) error {
	if tmpl == nil {
		switch {
		case several:
			return printJSON(found)
		case len(found) == 1:
			return printJSON(found[0])
		}
		return nil
	}
	out := bufio.NewWriter(os.Stdout)
	for _, v := range found {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		var generic any
		if err := json.Unmarshal(b, &generic); err != nil {
			return err
		}
		if err := tmpl.Execute(out, generic); err != nil {
			return fmt.Errorf("inspect: --format: %w", err)
		}
		fmt.Fprintln(out)
	}
	return out.Flush()
}

func inspectImage(s *container.Store, r image.Record) (imageInspect, error) {
	raw, err := s.ImageConfig(r.ID)
	if err != nil {
		return imageInspect{}, err
	}
	var cfg struct {
		Created      string `json:"created"`
		Author       string `json:"author"`
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
		Variant      string `json:"variant"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return imageInspect{}, fmt.Errorf("parse config: %w", err)
	}
	names, err := s.ImageNames(r.ID)
	if err != nil {
		return imageInspect{}, err
	}
	out := imageInspect{
		ID: r.ID.String(), RepoTags: []string{}, RepoDigests: []string{},
		Created: cfg.Created, Author: cfg.Author, Os: cfg.OS, Arch: cfg.Architecture, Variant: cfg.Variant,
		Size: r.Size, RootFS: rootFS{Type: "layers", Layers: r.DiffIDs}, ChainIDs: r.ChainIDs,
		Manifest: r.Manifest, Source: r.Source, Config: raw,
	}
	for _, n := range names {
		out.RepoTags = append(out.RepoTags, image.ShortName(n))
		if r.Manifest != "" {
			repo, _ := image.SplitName(n)
			out.RepoDigests = append(out.RepoDigests, repo+"@"+r.Manifest.String())
		}
	}
	if out.RootFS.Layers == nil {
		out.RootFS.Layers = []digest.Digest{}
	}
	return out, nil
}

// containerInspect is what inspect prints for a container, in Docker's
// field names where Docker has them.
type containerInspect struct {
	ID        string          `json:"Id"`
	Name      string          `json:"Name"`
	Image     string          `json:"Image"`
	ImageName string          `json:"ImageName,omitempty"`
	Created   string          `json:"Created"`
	State     containerState  `json:"State"`
	Config    containerConfig `json:"Config"`
	Driver    string          `json:"Driver"`
	Rootfs    string          `json:"Rootfs"`
	// Branches are the rootfs's branches, top first, with aufs's roles.
	Branches   []string `json:"Branches"`
	Mount      string   `json:"Mount,omitempty"`
	MountCount int      `json:"MountCount"`
	ChainIDs   []string `json:"ChainIDs"`
}

type containerState struct {
	Status     string `json:"Status"`
	Running    bool   `json:"Running"`
	Paused     bool   `json:"Paused"` // paused, or frozen by a commit reading its rw layer
	Pid        int    `json:"Pid"`
	ExitCode   *int   `json:"ExitCode,omitempty"`
	StartedAt  string `json:"StartedAt,omitempty"`
	FinishedAt string `json:"FinishedAt,omitempty"`
}

type containerConfig struct {
	Hostname   string      `json:"Hostname"`
	AddHosts   []string    `json:"ExtraHosts,omitempty"`
	DNS        []string    `json:"Dns,omitempty"`
	Cmd        []string    `json:"Cmd,omitempty"`
	Entrypoint *string     `json:"Entrypoint,omitempty"`
	Env        []string    `json:"Env,omitempty"`
	WorkingDir string      `json:"WorkingDir,omitempty"`
	User       string      `json:"User,omitempty"`
	Volumes    []string    `json:"Binds,omitempty"`
	Net        string      `json:"NetworkMode,omitempty"`
	Limits     *limitsJSON `json:"Resources,omitempty"`
	TTY        bool        `json:"Tty"`
	Privileged bool        `json:"Privileged"`
	AutoRemove bool        `json:"AutoRemove"`
	// The container's own labels (--label), and Docker's HostConfig
	// settings of its capabilities and mounts.
	Labels         map[string]string `json:"Labels,omitempty"`
	CapAdd         []string          `json:"CapAdd,omitempty"`
	CapDrop        []string          `json:"CapDrop,omitempty"`
	ReadonlyRootfs bool              `json:"ReadonlyRootfs"`
	Tmpfs          []string          `json:"Tmpfs,omitempty"`
}

type limitsJSON struct {
	NanoCPUs  int64 `json:"NanoCpus"`
	Memory    int64 `json:"Memory"`
	PidsLimit int64 `json:"PidsLimit"`
}

func containerJSON(info container.Info) containerInspect {
	out := containerInspect{
		ID: info.ID, Name: info.Name, Image: info.Image.String(), ImageName: image.ShortName(info.ImageName),
		Created: info.Created.Format(time.RFC3339Nano), Driver: info.Driver, Rootfs: info.Rootfs,
		Branches: info.Branches, Mount: info.Mount, MountCount: info.MountCount,
		State: containerState{
			Status: info.Status, Running: info.Pid > 0, Paused: info.Status == "paused",
			Pid: info.Pid, ExitCode: info.ExitCode,
		},
		Config: containerConfig{Hostname: info.Hostname, AddHosts: info.AddHosts, DNS: info.DNS},
	}
	for _, id := range info.ChainIDs {
		out.ChainIDs = append(out.ChainIDs, id.String())
	}
	if !info.Started.IsZero() {
		out.State.StartedAt = info.Started.Format(time.RFC3339Nano)
	}
	if !info.Finished.IsZero() {
		out.State.FinishedAt = info.Finished.Format(time.RFC3339Nano)
	}
	if rc := info.Run; rc != nil {
		cfg := &out.Config
		cfg.Cmd, cfg.Entrypoint, cfg.Env, cfg.WorkingDir, cfg.User = rc.Cmd, rc.Entrypoint, rc.Env, rc.WorkingDir, rc.User
		cfg.Net, cfg.TTY, cfg.Privileged, cfg.AutoRemove = rc.Net, rc.TTY, rc.Privileged, rc.Remove
		cfg.Labels, cfg.CapAdd, cfg.CapDrop, cfg.ReadonlyRootfs = rc.Labels, rc.CapAdd, rc.CapDrop, rc.ReadOnly
		for _, t := range rc.Tmpfs {
			cfg.Tmpfs = append(cfg.Tmpfs, t.Target)
		}
		for _, v := range rc.Volumes {
			bind := v.Source + ":" + v.Target
			if v.Name != "" { // as docker's Binds: the volume's name
				bind = v.Name + ":" + v.Target
			}
			if v.ReadOnly {
				bind += ":ro"
			}
			cfg.Volumes = append(cfg.Volumes, bind)
		}
		if l := rc.Limits; l.CPUs > 0 || l.Memory > 0 || l.PIDs > 0 {
			cfg.Limits = &limitsJSON{NanoCPUs: int64(l.CPUs * 1e9), Memory: l.Memory, PidsLimit: l.PIDs}
		}
	}
	return out
}
