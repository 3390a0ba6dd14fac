package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/layerctl/layerctl/pkg/container"
)

var execCommand = &cli.Command{
	Name:      "exec",
	Usage:     "run a command in a running container",
	ArgsUsage: "CONTAINER CMD [ARG...]",
	// -it: Docker users combine the one-letter flags.
	UseShortOptionHandling: true,
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "interactive", Aliases: []string{"i"}, Usage: "keep stdin connected"},
		&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "give the process a terminal"},
		&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set `K=V`"},
		&cli.StringFlag{Name: "workdir", Aliases: []string{"w"}, Usage: "working `DIR` inside the container"},
		&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "`USER[:GROUP]` (name or id)"},
		&cli.BoolFlag{Name: "privileged", Usage: "keep every capability"},
	},
	Action: func(c *cli.Context) error {
		if c.NArg() < 2 {
			return fmt.Errorf("exec: want CONTAINER CMD [ARG...]")
		}
		if err := checkInputTTY(c); err != nil {
			return fmt.Errorf("exec: %w", err)
		}
		s, err := openStores(c)
		if err != nil {
			return err
		}
		defer s.Close()
		o := container.ExecOptions{
			Args: c.Args().Slice()[1:], Env: c.StringSlice("env"), WorkingDir: c.String("workdir"),
			User: c.String("user"), TTY: c.Bool("tty"), Privileged: c.Bool("privileged"),
			Stdio: container.Stdio{Stdout: os.Stdout, Stderr: os.Stderr},
		}
		if c.Bool("interactive") {
			o.Stdin = os.Stdin
		}
		p, err := s.Exec(c.Args().First(), o)
		if err != nil {
			if errors.Is(err, container.ErrNotRunning) || errors.Is(err, container.ErrPaused) {
				return fmt.Errorf("exec: %w", err)
			}
			return startFailed("exec "+c.Args().First(), err)
		}
		s.Close()
		p.ForwardSignals()
		code, err := p.Wait()
		if err != nil {
			return err
		}
		if code != 0 {
			return exitError{code: code, err: errSilent}
		}
		return nil
	},
}

var stopCommand = &cli.Command{
	Name:      "stop",
	Usage:     "stop running containers: SIGTERM, then SIGKILL after the timeout",
	ArgsUsage: "CONTAINER...",
	Flags:     []cli.Flag{&cli.IntFlag{Name: "time", Aliases: []string{"t"}, Value: 10, Usage: "`SECONDS` to wait before SIGKILL (default: the container's --stop-timeout, else 10)"}},
	Action: func(c *cli.Context) error {
		if c.NArg() < 1 {
			return fmt.Errorf("stop: want CONTAINER...")
		}
		if c.Int("time") < 0 {
			return fmt.Errorf("stop: --time %d: want 0 or more seconds", c.Int("time"))
		}
		return eachContainer(c, "stop", func(s *container.Store, ref string) (container.State, error) {
			return s.Stop(ref, stopTimeout(c))
		})
	},
}

var killCommand = &cli.Command{
	Name:      "kill",
	Usage:     "send a signal to running containers",
	ArgsUsage: "CONTAINER...",
	Flags:     []cli.Flag{&cli.StringFlag{Name: "signal", Aliases: []string{"s"}, Value: "KILL", Usage: "`SIGNAL` name or number"}},
	Action: func(c *cli.Context) error {
		if c.NArg() < 1 {
			return fmt.Errorf("kill: want CONTAINER...")
		}
		sig, err := container.SignalByName(c.String("signal"))
		if err != nil {
			return fmt.Errorf("kill: %w", err)
		}
		return eachContainer(c, "kill", func(s *container.Store, ref string) (container.State, error) {
			return s.Kill(ref, sig)
		})
	},
}

var pauseCommand = &cli.Command{
	Name:      "pause",
	Usage:     "freeze every process of running containers until unpause",
	ArgsUsage: "CONTAINER...",
	Action: func(c *cli.Context) error {
		if c.NArg() < 1 {
			return fmt.Errorf("pause: want CONTAINER...")
		}
		return eachContainer(c, "pause", (*container.Store).Pause)
	},
}

var unpauseCommand = &cli.Command{
	Name:      "unpause",
	Usage:     "thaw paused containers",
	ArgsUsage: "CONTAINER...",
	Action: func(c *cli.Context) error {
		if c.NArg() < 1 {
			return fmt.Errorf("unpause: want CONTAINER...")
		}
		return eachContainer(c, "unpause", (*container.Store).Unpause)
	},
}

// eachContainer applies fn to every CONTAINER argument, printing each ID;
// it goes on after a failure and fails at the end, as Docker does.
func eachContainer(c *cli.Context, verb string, fn func(*container.Store, string) (container.State, error)) error {
	s, err := openStores(c)
	if err != nil {
		return err
	}
	defer s.Close()
	var failed error
	for _, ref := range c.Args().Slice() {
		st, err := fn(s, ref)
		if err != nil {
			failed = fmt.Errorf("%s %s: %w", verb, ref, err)
			fmt.Fprintf(os.Stderr, "layerctl: %v\n", failed)
			continue
		}
		fmt.Println(st.ID)
	}
	if failed != nil {
		return exitError{code: 1, err: errSilent}
	}
	return nil
}

// stopTimeout is stop's and restart's -t; -1 when not given: the
// container's --stop-timeout, else 10 s.
func stopTimeout(c *cli.Context) time.Duration {
	if !c.IsSet("time") {
		return -1
	}
	return time.Duration(c.Int("time")) * time.Second
}
