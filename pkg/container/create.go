package container

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/layerctl/layerctl/pkg/image"
	"github.com/layerctl/layerctl/pkg/layer"
	"github.com/layerctl/layerctl/pkg/ns"
	"github.com/layerctl/layerctl/pkg/union"
)

// CreateOptions describe a new container.
type CreateOptions struct {
	Image    string     // image name, ID or ID prefix
	Name     string     // "" for one made from the ID
	Hostname string     // "" for the ID's first 12 characters
	AddHosts []string   // HOST:IP lines for /etc/hosts
	DNS      []string   // nameservers; empty: the host's, without loopback ones
	Run      *RunConfig // how its process starts (run); nil for create
}

var validName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`) })

// validHostname follows RFC 1123: dot-separated labels of 1 to 63 letters,
// digits and inner hyphens. (Written out: the same regexp, with its {0,61}
// repeats, costs milliseconds to compile at every start.)
func validHostname(s string) bool {
	if s == "" {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

func (o CreateOptions) check() error {
	if o.Name != "" && !validName().MatchString(o.Name) {
		return fmt.Errorf("invalid name %q: use letters, digits, '_', '.' and '-'", o.Name)
	}
	if o.Hostname != "" && (len(o.Hostname) > 64 || !validHostname(o.Hostname)) {
		return fmt.Errorf("invalid hostname %q", o.Hostname)
	}
	for _, h := range o.AddHosts {
		host, ip, ok := strings.Cut(h, ":")
		if !ok || !validHostname(host) || net.ParseIP(ip) == nil {
			return fmt.Errorf("invalid --add-host %q: want HOST:IP", h)
		}
	}
	for _, d := range o.DNS {
		if net.ParseIP(d) == nil {
			return fmt.Errorf("invalid --dns %q: want an IP address", d)
		}
	}
	return nil
}

// Create makes a container of an image: its -init and read-write layers, and
// its record. Nothing is mounted. On any error, a cancelled ctx included
// (the vfs driver copies the whole image), nothing is left behind.
func (c *Store) Create(ctx context.Context, o CreateOptions) (State, error) {
	if err := o.check(); err != nil {
		return State{}, err
	}
	if err := ctx.Err(); err != nil {
		return State{}, fmt.Errorf("create container: %w", err)
	}
	img, err := c.images.Resolve(o.Image)
	if err != nil {
		return State{}, err
	}
	for _, id := range img.ChainIDs {
		if !c.layers.Has(id) {
			return State{}, fmt.Errorf("layer %s of image %s: %w", id, img.ID, layer.ErrNotFound)
		}
	}
	id := newID()
	s := State{
		ID: id, Name: o.Name, Image: img.ID, ChainIDs: img.ChainIDs,
		Hostname: o.Hostname, AddHosts: o.AddHosts, DNS: o.DNS,
		Driver: c.driver.Name(), Created: time.Now().UTC(), Run: o.Run,
	}
	if s.Name == "" {
		s.Name = id[:12]
	}
	hostNet := o.Run != nil && o.Run.Net == ns.NetHost
	if s.Hostname == "" {
		s.Hostname = id[:12]
		if h, err := os.Hostname(); err == nil && hostNet {
			s.Hostname = h // the host's network, the host's name (as Docker)
		}
	}
	// The name the user typed, as Docker records it: another name of the
	// same image is not what they asked for. An ID records no name.
	if refs, err := c.images.Refs(); err == nil && refs[image.NormalizeName(o.Image)] == img.ID {
		s.ImageName = image.NormalizeName(o.Image)
	}
	if s.Run != nil { // its own copy: named volumes get their paths
		run := *s.Run
		run.Volumes = slices.Clone(run.Volumes)
		s.Run = &run
	}
	emptyVolumes, err := c.attachVolumes(s.Run)
	if err != nil {
		return State{}, err
	}
	tmp, err := c.layers.TempDir("container-")
	if err != nil {
		return State{}, err
	}
	defer os.RemoveAll(tmp) // after the rename below it is gone already
	if err := c.fillDir(ctx, tmp, s); err != nil {
		return State{}, err
	}
	err = c.locked(func() error {
		// Cancelled while copying: publish nothing.
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("create container: %w", err)
		}
		// A name made from the new ID is taken by no one: the check, which
		// reads every container's record, is for the names users give.
		if o.Name != "" {
			if existing, err := c.Resolve(s.Name); err == nil && existing.Name == s.Name {
				return fmt.Errorf("name %q is taken by container %s: %w", s.Name, existing.ID[:12], ErrContainerExists)
			}
		}
		data := mustJSON(s)
		if err := os.WriteFile(filepath.Join(tmp, "state.json"), data, 0o600); err != nil {
			return err
		}
		return os.Rename(tmp, c.Dir(id))
	})
	if err != nil {
		return State{}, err
	}
	if err := c.fillVolumes(id, emptyVolumes); err != nil {
		c.Remove(id, true)
		return State{}, err
	}
	return s, nil
}

// fillDir makes a container's directory in tmp: its -init layer, its rw
// and work dirs and mountpoint, and on vfs the copy of its image.
func (c *Store) fillDir(ctx context.Context, tmp string, s State) error {
	root, err := c.rootAttrs(s.ChainIDs)
	if err != nil {
		return err
	}
	for _, d := range []string{"init", "rw", "work", "merged"} {
		if err := os.Mkdir(filepath.Join(tmp, d), 0o755); err != nil {
			return err
		}
	}
	if err := writeInit(filepath.Join(tmp, "init"), s); err != nil {
		return fmt.Errorf("write init layer: %w", err)
	}
	if union.Copies(c.driver) {
		if err := c.copyImage(ctx, s, filepath.Join(tmp, "init"), filepath.Join(tmp, "rw")); err != nil {
			return err
		}
	}
	// The merged root shows the attributes of the top-most branch root, so
	// init and rw get those of the image's top-most "./" entry.
	for _, d := range []string{"init", "rw"} {
		if err := root.apply(filepath.Join(tmp, d)); err != nil {
			return err
		}
	}
	return nil
}

// copyImage fills a vfs container's rw dir with its image and -init layer.
func (c *Store) copyImage(ctx context.Context, s State, initDir, rw string) error {
	if err := layer.Materialise(ctx, rw, c.imageView(s, initDir), c.layers.Converter(), layer.MaterialiseOptions{}); err != nil {
		return fmt.Errorf("copy image into the container: %w", err)
	}
	return nil
}

// imageView lists the dirs a container's image view is stacked from, top
// first: its -init layer, then the image's layers.
func (c *Store) imageView(s State, initDir string) []string {
	dirs := []string{initDir}
	for i := len(s.ChainIDs) - 1; i >= 0; i-- {
		dirs = append(dirs, c.layers.DiffDir(s.ChainIDs[i]))
	}
	return dirs
}

func hostsFile(s State) string {
	var b strings.Builder
	if s.Run != nil && s.Run.Net == ns.NetHost {
		// On the host's network the host's names are the ones that work.
		if host, err := os.ReadFile("/etc/hosts"); err == nil {
			b.Write(host)
			if len(host) > 0 && host[len(host)-1] != '\n' {
				b.WriteByte('\n')
			}
			for _, h := range s.AddHosts {
				name, ip, _ := strings.Cut(h, ":")
				fmt.Fprintf(&b, "%s\t%s\n", ip, name)
			}
			return b.String()
		}
	}
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	b.WriteString("fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")
	fmt.Fprintf(&b, "127.0.1.1\t%s\n", s.Hostname)
	for _, h := range s.AddHosts {
		host, ip, _ := strings.Cut(h, ":")
		fmt.Fprintf(&b, "%s\t%s\n", ip, host)
	}
	return b.String()
}

// resolvConf is the host's resolv.conf without loopback nameservers (they
// mean nothing in another network namespace), or the given nameservers.
func resolvConf(dns []string) string {
	host, _ := os.ReadFile("/etc/resolv.conf")
	var b strings.Builder
	var servers int
	for _, line := range strings.Split(string(host), "\n") {
		fields := strings.Fields(line)
		if len(fields) >= 2 && fields[0] == "nameserver" {
			ip := net.ParseIP(fields[1])
			if len(dns) > 0 || ip == nil || ip.IsLoopback() {
				continue
			}
			servers++
		}
		if strings.TrimSpace(line) != "" {
			b.WriteString(line + "\n")
		}
	}
	for _, d := range dns {
		fmt.Fprintf(&b, "nameserver %s\n", d)
		servers++
	}
	if servers == 0 { // as Docker does when nothing usable is left
		b.WriteString("nameserver 8.8.8.8\nnameserver 8.8.4.4\n")
	}
	return b.String()
}
