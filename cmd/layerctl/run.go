package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/layerctl/layerctl/pkg/container"
)

var runCommand = &cli.Command{
	Name:      "run",
	Usage:     "run a command in a new container of an image",
	ArgsUsage: "IMAGE [CMD [ARG...]]",
	Flags:     runFlags,
	// -it, -di: Docker users combine the one-letter flags.
	UseShortOptionHandling: true,
	Action:                 func(c *cli.Context) error { return notStarted(runAction(c)) },
}

// notStarted gives every failure of run before its process starts the code
// CLI.md (and Docker) give it, 125, so that it is never taken for the
// process's own exit code.
func notStarted(err error) error {
	var ee exitError
	if err == nil || errors.As(err, &ee) {
		return err
	}
	return exitError{code: container.CodeSetup, err: err}
}

func runAction(c *cli.Context) (err error) {
	// An init step main spawned early is this run's, or nothing's: it ends
	// with a run that fails (a no-op once it started the container).
	early := takeEarlySpawn(c)
	defer func() {
		if err != nil {
			early.Abort()
		}
	}()
	if c.NArg() < 1 {
		return fmt.Errorf("run: want IMAGE [CMD [ARG...]]")
	}
	if c.Bool("detach") && c.Bool("tty") {
		return fmt.Errorf("run: -t cannot be used with -d (the terminal lives in the foreground process)")
	}
	if err := checkInputTTY(c); err != nil {
		return exitError{code: 1, err: fmt.Errorf("run: %w", err)}
	}
	opts, err := createOptions(c)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	var stdin *os.File
	if c.Bool("interactive") {
		stdin = os.Stdin
	}
	// The container's init step starts while the store opens and the
	// container is made (or started in main already: its start checks
	// that it fits).
	var sp *container.Spawned
	if !c.Bool("detach") {
		sp = early
		if sp == nil {
			sp = container.Spawn(opts.Run, foregroundStdio(stdin))
		}
	}
	s, err := openStores(c)
	if err != nil {
		sp.Abort()
		return err
	}
	defer s.Close()
	st, err := s.Create(c.Context, opts)
	if err != nil {
		sp.Abort()
		return fmt.Errorf("run: %w", err)
	}
	if c.Bool("detach") {
		if err := s.StartDetached(st.ID, monitorArgs(c, st.ID)); err != nil {
			return detachFailed(err)
		}
		fmt.Println(st.ID)
		return nil
	}
	return runForeground(s, st.ID, stdin, "run", sp)
}

// checkInputTTY refuses -it when stdin is not a terminal, as Docker does:
// the pty would never see the end of the input, and the process would
// wait for it for ever. Without -i, the process gets no stdin at all: -t
// alone gives it a pty for its output.
func checkInputTTY(c *cli.Context) error {
	if c.Bool("interactive") && c.Bool("tty") && !term.IsTerminal(int(os.Stdin.Fd())) {
		return errors.New("the input device is not a TTY")
	}
	return nil
}

// foregroundStdio is this process's stdio for a container; stdin only when
// given.
func foregroundStdio(stdin *os.File) container.Stdio {
	stdio := container.Stdio{Stdout: os.Stdout, Stderr: os.Stderr}
	if stdin != nil {
		stdio.Stdin = stdin
	}
	return stdio
}

// runForeground starts a container's process with this process's stdio
// (on sp, an init step spawned for it, when not nil) and exits as it does;
// what names the command for its errors.
func runForeground(s *container.Store, id string, stdin *os.File, what string, sp *container.Spawned) error {
	var r *container.Running
	var err error
	container.HoldSignals()
	if sp != nil {
		r, err = s.StartSpawned(id, sp)
	} else {
		r, err = s.Start(id, foregroundStdio(stdin))
	}
	if err != nil {
		return startFailed(what, err)
	}
	if sp.Early() {
		slog.Debug("the init step was started with this process", "container", id)
	}
	// A long-running container must not hold the store's shared lock: gc
	// would wait for it.
	s.Close()
	r.ForwardSignals()
	code, err := r.Wait()
	if errors.Is(err, container.ErrOOM) {
		return exitError{code: 137, err: err}
	}
	if err != nil {
		// The process ran: its code stands when the cleanup after it
		// failed (1 when it succeeded, so the failure shows).
		if code == 0 {
			code = 1
		}
		return exitError{code: code, err: err}
	}
	if code != 0 {
		return exitError{code: code, err: errSilent}
	}
	return nil
}

// errSilent ends layerctl with the container's exit code and no message of
// its own.
var errSilent = errors.New("")

// startFailed gives a start failure Docker's exit code: 125 setup, 126
// cannot run, 127 not found; what names the command that failed.
func startFailed(what string, err error) error {
	var se *container.StartError
	if errors.As(err, &se) {
		return exitError{code: se.ExitCode(), err: fmt.Errorf("%s: %w", what, err)}
	}
	return exitError{code: container.CodeSetup, err: fmt.Errorf("%s: %w", what, err)}
}

// monitorArgs is the command line of a run -d container's monitor: this
// binary's hidden monitor command on the same store.
func monitorArgs(c *cli.Context, id string) []string {
	args := []string{"layerctl", "--root", c.String("root")}
	if d := c.String("driver"); d != "" {
		args = append(args, "--driver", d)
	}
	return append(args, monitorCommand.Name, id)
}

// detachFailed gives a failed run -d its exit code: the monitor's for a
// failure it reports, as startFailed's otherwise.
func detachFailed(err error) error {
	if err == nil {
		return nil
	}
	var me *container.MonitorError
	if errors.As(err, &me) {
		return exitError{code: me.Code, err: me.Err}
	}
	return startFailed("run", err)
}

// monitorCommand is the detached process behind run -d.
var monitorCommand = &cli.Command{
	Name:   "__monitor",
	Hidden: true,
	Action: func(c *cli.Context) error {
		return container.ServeMonitor(c.String("root"), c.Args().First(), storeOptions(c)...)
	},
}
