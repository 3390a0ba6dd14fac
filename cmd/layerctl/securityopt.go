package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/layerctl/layerctl/pkg/container"
)

var securityOptFlag = &cli.StringSliceFlag{
	Name:  "security-opt",
	Usage: "`OPT`: seccomp=unconfined, seccomp=FILE.json (Docker's profile format), no-new-privileges",
}

// securityOpts applies --security-opt values to rc as Docker reads them:
// KEY=VALUE (or the older KEY:VALUE); a later value of a key wins. A
// profile file is read and checked now, and the container keeps its
// text, so that it starts the same way later whatever becomes of the file.
func securityOpts(rc *container.RunConfig, opts []string) error {
	for _, opt := range opts {
		key, value, ok := strings.Cut(opt, "=")
		if !ok && opt != "no-new-privileges" {
			key, value, ok = strings.Cut(opt, ":")
			if !ok {
				return fmt.Errorf("--security-opt %q: want KEY=VALUE", opt)
			}
		}
		switch key {
		case "seccomp":
			switch value {
			case "unconfined":
				rc.Seccomp = container.Seccomp{Unconfined: true}
			case "builtin":
				rc.Seccomp = container.Seccomp{}
			case "":
				return fmt.Errorf("--security-opt %q: want unconfined, builtin or a profile's FILE", opt)
			default:
				data, err := os.ReadFile(value)
				if err != nil {
					return fmt.Errorf("--security-opt %q: %w", opt, err)
				}
				if rc.Seccomp, err = container.LoadSeccompProfile(data); err != nil {
					return fmt.Errorf("--security-opt %q: %w", opt, err)
				}
			}
		case "no-new-privileges":
			on := true
			if ok {
				var err error
				if on, err = strconv.ParseBool(value); err != nil {
					return fmt.Errorf("--security-opt %q: want true or false", opt)
				}
			}
			rc.NoNewPrivileges = on
		default:
			return fmt.Errorf("--security-opt %q: %s is not supported (seccomp and no-new-privileges are)", opt, key)
		}
	}
	return nil
}
