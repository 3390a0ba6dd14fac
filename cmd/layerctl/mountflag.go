package main

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/layerctl/layerctl/pkg/container"
)

// parseMount reads docker run's --mount, a comma-separated list of KEY=VALUE:
// type=bind|volume|tmpfs (volume when left out), source/src, target/dst/
// destination, readonly/ro, and tmpfs-size and tmpfs-mode for a tmpfs.
// A bind's source must exist (as docker's --mount, unlike -v).
func parseMount(spec string) (vol *container.Volume, tmpfs *container.Tmpfs, err error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("--mount %q: %s", spec, fmt.Sprintf(format, a...))
	}
	typ, source, target := "volume", "", ""
	readOnly := false
	var tmpfsOpts []string
	for _, field := range strings.Split(spec, ",") {
		key, value, hasValue := strings.Cut(field, "=")
		switch strings.ToLower(key) {
		case "type":
			typ = value
		case "source", "src":
			source = value
		case "target", "dst", "destination":
			target = value
		case "readonly", "ro":
			if readOnly, err = strconv.ParseBool(value); !hasValue {
				readOnly, err = true, nil
			}
			if err != nil {
				return nil, nil, bad("readonly=%q: want true or false", value)
			}
		case "tmpfs-size":
			n, err := parseBytes(value)
			if err != nil || n <= 0 {
				return nil, nil, bad("tmpfs-size=%q: want a size", value)
			}
			tmpfsOpts = append(tmpfsOpts, "size="+strconv.FormatInt(n, 10))
		case "tmpfs-mode":
			if _, err := strconv.ParseUint(value, 8, 32); err != nil {
				return nil, nil, bad("tmpfs-mode=%q: want an octal mode", value)
			}
			tmpfsOpts = append(tmpfsOpts, "mode="+value)
		default:
			return nil, nil, bad("%q is not supported (type, source, target, readonly, tmpfs-size, tmpfs-mode)", key)
		}
	}
	if target == "" {
		return nil, nil, bad("no target")
	}
	switch typ {
	case "tmpfs":
		if source != "" {
			return nil, nil, bad("a tmpfs has no source")
		}
		if readOnly {
			tmpfsOpts = append(tmpfsOpts, "ro")
		}
		t, err := container.ParseTmpfs(target + ":" + strings.Join(tmpfsOpts, ","))
		if err != nil {
			return nil, nil, bad("%v", err)
		}
		return nil, &t, nil
	case "bind", "volume":
		if len(tmpfsOpts) > 0 {
			return nil, nil, bad("tmpfs-size and tmpfs-mode are for type=tmpfs")
		}
		if source == "" {
			return nil, nil, bad("no source")
		}
		if typ == "bind" && !filepath.IsAbs(source) && !strings.HasPrefix(source, ".") {
			return nil, nil, bad("a bind's source is a host path")
		}
		if typ == "volume" && !container.IsVolumeName(source) {
			return nil, nil, bad("%q is no volume name", source)
		}
		v := source + ":" + target
		if readOnly {
			v += ":ro"
		}
		parsed, err := parseVolume(v)
		if err != nil {
			return nil, nil, bad("%v", err)
		}
		return &parsed, nil, nil
	}
	return nil, nil, bad("type %q: want bind, volume or tmpfs", typ)
}
