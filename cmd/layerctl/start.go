package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/layerctl/layerctl/pkg/container"
)

// createFlags are run's, but for -d: a created container starts with
// start, attached (-a) or not.
var createFlags = slices.DeleteFunc(slices.Clone(runFlags), func(f cli.Flag) bool { return f == detachFlag })

var createCommand = &cli.Command{
	Name:                   "create",
	Usage:                  "make a container of an image, to start later with the command given or the image's",
	ArgsUsage:              "IMAGE [CMD [ARG...]]",
	Flags:                  createFlags,
	UseShortOptionHandling: true,
	Action: func(c *cli.Context) error {
		if c.NArg() < 1 {
			return fmt.Errorf("create: want IMAGE [CMD [ARG...]]")
		}
		opts, err := createOptions(c)
		if err != nil {
			return fmt.Errorf("create: %w", err)
		}
		s, err := openStores(c)
		if err != nil {
			return err
		}
		defer s.Close()
		st, err := s.Create(c.Context, opts)
		if err != nil {
			return fmt.Errorf("create: %w", err)
		}
		fmt.Println(st.ID)
		return nil
	},
}

var startCommand = &cli.Command{
	Name:      "start",
	Usage:     "start created or exited containers (again) with the command they were made with",
	ArgsUsage: "CONTAINER...",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "attach", Aliases: []string{"a"}, Usage: "stay with the process: its output, its exit code"},
		&cli.BoolFlag{Name: "interactive", Aliases: []string{"i"}, Usage: "connect stdin (and attach)"},
	},
	UseShortOptionHandling: true,
	Action: func(c *cli.Context) error {
		if c.NArg() < 1 {
			return fmt.Errorf("start: want CONTAINER...")
		}
		if c.Bool("attach") || c.Bool("interactive") {
			return startAttached(c)
		}
		return eachContainer(c, "start", func(s *container.Store, ref string) (container.State, error) {
			st, err := s.Resolve(ref)
			if err != nil {
				return st, err
			}
			if st, err = s.Refresh(st); err != nil || st.Pid > 0 {
				return st, err // running already: nothing to do, as Docker
			}
			if err := s.StartDetached(st.ID, monitorArgs(c, st.ID)); err != nil {
				return st, detachFailed(err)
			}
			return st, nil
		})
	},
}

// startAttached starts one container with this process's stdio and exits
// as its process does, as run does.
func startAttached(c *cli.Context) error {
	if c.NArg() != 1 {
		return fmt.Errorf("start: -a and -i take one CONTAINER")
	}
	s, err := openStores(c)
	if err != nil {
		return err
	}
	defer s.Close()
	st, err := s.Resolve(c.Args().First())
	if err != nil {
		return fmt.Errorf("start %s: %w", c.Args().First(), err)
	}
	var stdin *os.File
	if c.Bool("interactive") {
		if st.Run != nil && st.Run.TTY && !term.IsTerminal(int(os.Stdin.Fd())) {
			return fmt.Errorf("start %s: the input device is not a TTY", st.Name)
		}
		stdin = os.Stdin
	}
	return runForeground(s, st.ID, stdin, "start", nil)
}

var restartCommand = &cli.Command{
	Name:      "restart",
	Usage:     "stop containers (if running) and start them again",
	ArgsUsage: "CONTAINER...",
	Flags:     []cli.Flag{&cli.IntFlag{Name: "time", Aliases: []string{"t"}, Value: 10, Usage: "`SECONDS` to wait before SIGKILL (default: the container's --stop-timeout, else 10)"}},
	Action: func(c *cli.Context) error {
		if c.NArg() < 1 {
			return fmt.Errorf("restart: want CONTAINER...")
		}
		if c.Int("time") < 0 {
			return fmt.Errorf("restart: --time %d: want 0 or more seconds", c.Int("time"))
		}
		return eachContainer(c, "restart", func(s *container.Store, ref string) (container.State, error) {
			st, err := s.Resolve(ref)
			if err != nil {
				return st, err
			}
			st, err = s.Restart(st.ID, stopTimeout(c), monitorArgs(c, st.ID))
			return st, detachFailed(err)
		})
	},
}

var waitCommand = &cli.Command{
	Name:      "wait",
	Usage:     "wait for containers to stop and print their exit codes",
	ArgsUsage: "CONTAINER...",
	Action: func(c *cli.Context) error {
		if c.NArg() < 1 {
			return fmt.Errorf("wait: want CONTAINER...")
		}
		s, err := openStores(c)
		if err != nil {
			return err
		}
		// Waiting must not hold the store's shared lock: gc would wait too.
		refs := c.Args().Slice()
		ids := make([]string, len(refs))
		var failed error
		for i, ref := range refs {
			st, err := s.Resolve(ref)
			if err != nil {
				failed = errors.Join(failed, fmt.Errorf("wait %s: %w", ref, err))
			}
			ids[i] = st.ID
		}
		s.Close()
		if failed != nil {
			return failed
		}
		for i, id := range ids {
			code, err := s.WaitExit(context.Background(), id)
			if err != nil {
				return fmt.Errorf("wait %s: %w", refs[i], err)
			}
			fmt.Println(code)
		}
		return nil
	},
}
