package main

import (
	"encoding/json"
	"fmt"

	digest "github.com/opencontainers/go-digest"
	"github.com/urfave/cli/v2"

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
	Usage:     "show a container or an image as JSON",
	ArgsUsage: "IMAGE|CONTAINER",
	Flags:     []cli.Flag{&cli.StringFlag{Name: "format", Value: "json", Usage: "output format: json"}},
	Action: func(c *cli.Context) error {
		if c.NArg() != 1 {
			return fmt.Errorf("inspect: want one IMAGE or CONTAINER")
		}
		if f := c.String("format"); f != "json" {
			return fmt.Errorf("inspect: --format %q: want json", f)
		}
		s, err := openStores(c)
		if err != nil {
			return err
		}
		defer s.Close()
		arg := c.Args().First()
		// A container name or ID wins over an image of the same name, as in Docker.
		if info, err := s.containers.Inspect(arg); err == nil {
			return printJSON(info)
		}
		r, err := s.images.Resolve(arg)
		if err != nil {
			return fmt.Errorf("inspect %s: %w", arg, err)
		}
		out, err := inspectImage(s, r)
		if err != nil {
			return fmt.Errorf("inspect %s: %w", arg, err)
		}
		return printJSON(out)
	},
}

func inspectImage(s *stores, r image.Record) (imageInspect, error) {
	raw, err := s.layers.Blob(r.ID)
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
	names, err := s.images.Names(r.ID)
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
