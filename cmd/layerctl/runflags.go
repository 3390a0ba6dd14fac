package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/layerctl/layerctl/pkg/container"
)

// The flags run and create share, and how they become a container's
// CreateOptions and RunConfig.

// detachFlag is run's -d, which create does without.
var detachFlag = &cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "run in the background and print the container ID"}

var runFlags = []cli.Flag{
	&cli.BoolFlag{Name: "rm", Usage: "remove the container when its process ends"},
	&cli.BoolFlag{Name: "interactive", Aliases: []string{"i"}, Usage: "keep stdin connected"},
	&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "give the process a terminal"},
	detachFlag,
	&cli.StringFlag{Name: "name", Usage: "container `NAME`"},
	&cli.StringFlag{Name: "hostname", Usage: "the container's host name"},
	&cli.StringSliceFlag{Name: "add-host", Usage: "add `HOST:IP` to /etc/hosts"},
	&cli.StringSliceFlag{Name: "dns", Usage: "nameserver `IP` for /etc/resolv.conf"},
	&cli.StringSliceFlag{Name: "volume", Aliases: []string{"v"}, Usage: "mount `SRC:DST[:ro]`: SRC a host path (absolute, or ./ relative) or a volume name"},
	&cli.StringSliceFlag{Name: "mount", Usage: "mount `type=bind|volume|tmpfs,source=...,target=...[,readonly]` (docker's --mount)"},
	&cli.StringSliceFlag{Name: "tmpfs", Usage: "mount a new tmpfs at `PATH[:OPTS]` (OPTS: size=64m,mode=1777,exec,...; default noexec,nosuid)"},
	&cli.BoolFlag{Name: "read-only", Usage: "mount the rootfs read-only (volumes and --tmpfs as they are)"},
	&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set `K=V` (K alone: the host's value)"},
	&cli.StringFlag{Name: "workdir", Aliases: []string{"w"}, Usage: "working `DIR` inside the container"},
	&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "`USER[:GROUP]` (name or id)"},
	&cli.StringFlag{Name: "entrypoint", Usage: "override the image's entrypoint"},
	&cli.StringFlag{Name: "memory", Aliases: []string{"m"}, Usage: "memory limit in `BYTES` (k, m, g suffixes)"},
	&cli.Float64Flag{Name: "cpus", Usage: "CPU limit in cores (0.5: half a core)"},
	&cli.Int64Flag{Name: "pids-limit", Usage: "most processes at once"},
	&cli.StringFlag{Name: "network", Aliases: []string{"net"}, Value: container.NetNone, Usage: "network: none (own namespace, lo only) or host"},
	&cli.StringSliceFlag{Name: "label", Aliases: []string{"l"}, Usage: "set a label on the container: `K=V` (repeatable; ps --filter label= finds it)"},
	&cli.StringSliceFlag{Name: "env-file", Usage: "set the variables of `FILE` (K=V lines, # comments), before --env's"},
	&cli.StringSliceFlag{Name: "publish", Aliases: []string{"p"}, Usage: "refused: there is no bridge network to map ports from (with --network host the container's ports are the host's)"},
	&cli.StringSliceFlag{Name: "group-add", Usage: "add the process to `GROUP` (a name of the image's /etc/group, or a number)"},
	&cli.StringSliceFlag{Name: "ulimit", Usage: "a resource limit: `NAME=SOFT[:HARD]` (nofile=1024:2048; -1: none)"},
	&cli.StringFlag{Name: "stop-signal", Usage: "`SIGNAL` that stop sends first (default: the image's STOPSIGNAL, else SIGTERM)"},
	&cli.IntFlag{Name: "stop-timeout", Value: -1, Usage: "`SECONDS` stop waits before SIGKILL when stop -t is not given (default 10)"},
	&cli.BoolFlag{Name: "init", Usage: "run a small init as PID 1 that forwards signals and reaps orphans (so ^C and stop reach sh or sleep)"},
	&cli.BoolFlag{Name: "privileged", Usage: "keep every capability, unmask /proc and /sys, no seccomp filter"},
	&cli.StringSliceFlag{Name: "cap-add", Usage: "add `CAP` (NET_ADMIN, CAP_SYS_TIME; ALL) to Docker's default capabilities"},
	&cli.StringSliceFlag{Name: "cap-drop", Usage: "drop `CAP` (ALL: every one but those added)"},
	securityOptFlag,
}

// createOptions is the container run's or create's flags and arguments
// describe.
func createOptions(c *cli.Context) (container.CreateOptions, error) {
	rc, err := runConfig(c)
	return container.CreateOptions{
		Image: c.Args().First(), Name: c.String("name"), Hostname: c.String("hostname"),
		AddHosts: c.StringSlice("add-host"), DNS: c.StringSlice("dns"), Run: rc,
	}, err
}

func runConfig(c *cli.Context) (*container.RunConfig, error) {
	rc := &container.RunConfig{
		WorkingDir: c.String("workdir"), User: c.String("user"), Net: c.String("network"),
		TTY: c.Bool("tty"), Privileged: c.Bool("privileged"), Remove: c.Bool("rm"), Init: c.Bool("init"),
	}
	if c.NArg() > 1 {
		rc.Cmd = c.Args().Slice()[1:]
	}
	if c.IsSet("entrypoint") {
		ep := c.String("entrypoint")
		rc.Entrypoint = &ep
	}
	if rc.Net != container.NetNone && rc.Net != container.NetHost {
		return nil, fmt.Errorf("--network %q: want none or host", rc.Net)
	}
	if p := c.StringSlice("publish"); len(p) > 0 {
		return nil, fmt.Errorf("--publish %s: no port mapping without a bridge network: with --network host the container's ports are the host's", p[0])
	}
	if rc.WorkingDir != "" && !filepath.IsAbs(rc.WorkingDir) {
		return nil, fmt.Errorf("--workdir %q: want an absolute path", rc.WorkingDir)
	}
	env := c.StringSlice("env")
	for _, f := range slices.Backward(c.StringSlice("env-file")) {
		vars, err := readEnvFile(f)
		if err != nil {
			return nil, err
		}
		env = append(vars, env...) // --env wins, as in Docker
	}
	for _, e := range env {
		if !strings.Contains(e, "=") {
			v, ok := os.LookupEnv(e)
			if !ok {
				continue // as Docker: an unset host variable is left out
			}
			e += "=" + v
		}
		if strings.HasPrefix(e, "=") {
			return nil, fmt.Errorf("--env %q: no variable name", e)
		}
		rc.Env = append(rc.Env, e)
	}
	rc.CapAdd, rc.CapDrop = c.StringSlice("cap-add"), c.StringSlice("cap-drop")
	if err := container.CheckCapabilities(rc.CapAdd, rc.CapDrop); err != nil {
		return nil, err
	}
	if err := securityOpts(rc, c.StringSlice("security-opt")); err != nil {
		return nil, err
	}
	var err error
	if rc.Labels, err = parseLabels(c.StringSlice("label")); err != nil {
		return nil, err
	}
	rc.GroupAdd = c.StringSlice("group-add")
	for _, u := range c.StringSlice("ulimit") {
		r, err := container.ParseUlimit(u)
		if err != nil {
			return nil, err
		}
		rc.Ulimits = append(rc.Ulimits, r)
	}
	if sig := c.String("stop-signal"); sig != "" {
		if _, err := container.SignalByName(sig); err != nil {
			return nil, fmt.Errorf("--stop-signal: %w", err)
		}
		rc.StopSignal = sig
	}
	if c.IsSet("stop-timeout") {
		t := c.Int("stop-timeout")
		if t < 0 {
			return nil, fmt.Errorf("--stop-timeout %d: want 0 or more seconds", t)
		}
		rc.StopTimeout = &t
	}
	rc.ReadOnly = c.Bool("read-only")
	for _, v := range c.StringSlice("tmpfs") {
		t, err := container.ParseTmpfs(v)
		if err != nil {
			return nil, err
		}
		rc.Tmpfs = append(rc.Tmpfs, t)
	}
	for _, m := range c.StringSlice("mount") {
		vol, tmpfs, err := parseMount(m)
		if err != nil {
			return nil, err
		}
		if vol != nil {
			rc.Volumes = append(rc.Volumes, *vol)
		} else {
			rc.Tmpfs = append(rc.Tmpfs, *tmpfs)
		}
	}
	for _, v := range c.StringSlice("volume") {
		vol, err := parseVolume(v)
		if err != nil {
			return nil, err
		}
		rc.Volumes = append(rc.Volumes, vol)
	}
	if m := c.String("memory"); m != "" {
		if rc.Limits.Memory, err = parseBytes(m); err != nil {
			return nil, fmt.Errorf("--memory %q: %w", m, err)
		}
		if rc.Limits.Memory < 6<<20 {
			return nil, fmt.Errorf("--memory %q: the smallest limit is 6m", m)
		}
	}
	rc.Limits.CPUs = c.Float64("cpus")
	if rc.Limits.CPUs < 0 {
		return nil, fmt.Errorf("--cpus %v: want a positive number", rc.Limits.CPUs)
	}
	rc.Limits.PIDs = c.Int64("pids-limit")
	if rc.Limits.PIDs < 0 {
		return nil, fmt.Errorf("--pids-limit %d: want a positive number", rc.Limits.PIDs)
	}
	return rc, nil
}

// parseVolume reads SRC:DST[:ro|rw]; SRC must exist on the host.
func parseVolume(v string) (container.Volume, error) {
	parts := strings.Split(v, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return container.Volume{}, fmt.Errorf("--volume %q: want SRC:DST[:OPTIONS]", v)
	}
	vol := container.Volume{Source: parts[0], Target: parts[1]}
	if len(parts) == 3 {
		for _, o := range strings.Split(parts[2], ",") {
			switch o {
			case "ro":
				vol.ReadOnly = true
			case "rw":
			case "z", "Z": // SELinux relabelling: no labels are applied here
			default:
				return container.Volume{}, fmt.Errorf("--volume %q: option %q: want ro, rw, z or Z", v, o)
			}
		}
	}
	// As docker since 23.0: "." and ".." start a host path relative to here.
	if src := vol.Source; src == "." || src == ".." || strings.HasPrefix(src, "./") || strings.HasPrefix(src, "../") {
		abs, err := filepath.Abs(src)
		if err != nil {
			return container.Volume{}, fmt.Errorf("--volume %q: %w", v, err)
		}
		vol.Source = abs
	}
	if !filepath.IsAbs(vol.Target) {
		return container.Volume{}, fmt.Errorf("--volume %q: the destination must be absolute", v)
	}
	if !filepath.IsAbs(vol.Source) {
		// A name: a volume of the store, made when missing (as docker).
		if !container.IsVolumeName(vol.Source) {
			return container.Volume{}, fmt.Errorf("--volume %q: %q is neither an absolute or ./ path nor a volume name", v, vol.Source)
		}
		vol.Name, vol.Source = vol.Source, ""
		if filepath.Clean(vol.Target) == "/" {
			return container.Volume{}, fmt.Errorf("--volume %q: the destination cannot be /", v)
		}
		return vol, nil
	}
	// A mount on / would be hidden under the rootfs the container pivots
	// into: refuse it, as Docker does, rather than drop it silently.
	if filepath.Clean(vol.Target) == "/" {
		return container.Volume{}, fmt.Errorf("--volume %q: the destination cannot be /", v)
	}
	if _, err := os.Stat(vol.Source); err != nil {
		return container.Volume{}, fmt.Errorf("--volume %q: %w", v, err)
	}
	return vol, nil
}

// parseBytes reads 1024, 64k, 64m, 1g (binary units, as Docker).
func parseBytes(s string) (int64, error) {
	mult := int64(1)
	num := strings.ToLower(s)
	switch {
	case strings.HasSuffix(num, "k"), strings.HasSuffix(num, "kb"):
		mult = 1 << 10
	case strings.HasSuffix(num, "m"), strings.HasSuffix(num, "mb"):
		mult = 1 << 20
	case strings.HasSuffix(num, "g"), strings.HasSuffix(num, "gb"):
		mult = 1 << 30
	}
	num = strings.TrimRight(num, "kmgb")
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("want a size such as 64m")
	}
	return n * mult, nil
}
