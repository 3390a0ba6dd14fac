// A start costs less without two runtime services a short-lived command
// never uses: the goroutine that follows changes of the cgroup's CPU limit
// (updatemaxprocs), and the names the runtime gives its anonymous mappings,
// a prctl per mmap (decoratemappings). About 0.6 ms of each start here.
//
//go:debug updatemaxprocs=0
//go:debug decoratemappings=0

// Command layerctl is an image layer store and builder: one binary, one store
// directory, no daemon.
package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/layerctl/layerctl/pkg/ns"
	_ "github.com/layerctl/layerctl/pkg/ns/prefault" // a faster start: see its doc
	"github.com/layerctl/layerctl/pkg/ns/prefault/entrypoint"
	"github.com/layerctl/layerctl/pkg/ns/prespawn"
)

// exitError carries an exit code other than 1 (the process's own code).
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

// extraCommands are commands only some builds have (man, see man.go).
var extraCommands []*cli.Command

func main() {
	// In a container's init step this execs the container's process and
	// never returns; it must run before anything starts threads or opens files.
	ns.Init()
	// A reader that went away (| head) fails a write to stdout with EPIPE
	// instead of killing layerctl mid-command, so that what the command
	// mounted or locked is undone; main then ends quietly, as any writer
	// to a closed pipe. Go raises SIGPIPE only for fds 1 and 2, so stdout
	// is written through a copy of fd 1: neither signal.Notify (a goroutine
	// and a thread at every start, 0.6 ms here) nor an ignored SIGPIPE,
	// which the container's processes would inherit.
	if fd, err := syscall.Dup(1); err == nil {
		syscall.CloseOnExec(fd)
		os.Stdout = os.NewFile(uintptr(fd), os.Stdout.Name())
	}
	// A command that starts a container's process has the init step's
	// sealed program made while its flags are parsed and its store opens.
	if startsProcess(commandName(os.Args[1:])) {
		ns.Warm()
		spawnEarly(os.Args[1:])
	}
	// urfave/cli reports an unknown command through CommandNotFound, which
	// cannot return an error: note it and fail after Run.
	var unknown string
	app := &cli.App{
		Name:                 "layerctl",
		Usage:                "container image layer store: pull, mount, commit, push and run images",
		EnableBashCompletion: true,
		Version:              version,
		Flags:                globalFlags,
		Before:               setupLogging,
		// A --change value such as CMD ["a", "b"] holds commas: one flag, one value.
		DisableSliceFlagSeparator: true,
		Commands: []*cli.Command{
			pullCommand, imagesCommand, inspectCommand, layersCommand, rmiCommand, tagCommand,
			gcCommand, verifyCommand, infoCommand, systemCommand, imageCommand, containerCommand,
			createCommand, mountCommand, umountCommand, diffCommand, psCommand, rmCommand,
			startCommand, restartCommand, waitCommand, cpCommand,
			commitCommand, buildCommand, pushCommand, saveCommand, loadCommand, loginCommand, logoutCommand,
			completionCommand, runCommand, execCommand, stopCommand, killCommand, logsCommand, monitorCommand,
			historyCommand, exploreCommand, exportCommand, importCommand, renameCommand, topCommand,
			pauseCommand, unpauseCommand, statsCommand, volumeCommand,
		},
		// Errors are printed once, by main, in one line.
		ExitErrHandler:  func(*cli.Context, error) {},
		OnUsageError:    usageError,
		CommandNotFound: func(_ *cli.Context, name string) { unknown = name },
	}
	app.Commands = append(app.Commands, extraCommands...)
	// Only a command line that names a group sets up its subcommands:
	// every other start goes without them.
	if slices.ContainsFunc(os.Args[1:], func(a string) bool { return a == imageCommand.Name || a == containerCommand.Name }) {
		addManagementNames()
	}
	app.Commands = commandsFor(app.Commands, os.Args[1:])
	setUsageError(app.Commands)
	setCompletion(app.Commands)
	err := app.Run(os.Args)
	// An init step spawned early for a command line urfave/cli refused
	// (runAction never took it) ends here rather than on its own.
	earlySpawn.sp.Abort()
	ns.DropPrespawned()
	if err == nil && unknown != "" {
		err = fmt.Errorf("unknown command %q", unknown)
	}
	if err != nil {
		if stdoutGone(err) {
			os.Exit(128 + int(syscall.SIGPIPE))
		}
		if !errors.Is(err, errSilent) {
			fmt.Fprintf(os.Stderr, "layerctl: %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
		}
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		os.Exit(1)
	}
}

// stdoutGone tells an error of a write to a stdout whose reader has gone.
func stdoutGone(err error) bool {
	var pe *os.PathError
	return errors.Is(err, syscall.EPIPE) && errors.As(err, &pe) && pe.Path == os.Stdout.Name()
}

// usageError turns a usage error (an unknown flag, a bad flag value) into the
// one-line error main prints, instead of urfave/cli's full help on stdout.
func usageError(c *cli.Context, err error, isSubcommand bool) error {
	if !isSubcommand {
		return err // the global flags: "layerctl: flag provided but not defined: -x"
	}
	if g := globalFlagIn(c.App, err); g != "" {
		return fmt.Errorf("%s: --%s is a global flag: global flags go before the command (layerctl --%s ... %s)",
			c.Command.Name, g, g, c.Command.Name)
	}
	return fmt.Errorf("%s: %w", commandPath(c), err)
}

// commandPath is the command's names under the app: "image ls".
func commandPath(c *cli.Context) string {
	var names []string
	for _, l := range c.Lineage() {
		if l.Command != nil && l.Command.Name != "" && l.Command.Name != c.App.Name {
			names = append([]string{l.Command.Name}, names...)
		}
	}
	return strings.Join(names, " ")
}

// globalFlagIn tells which global flag an "not defined" error is about, if
// any ("images --root DIR": --root is known, but only before the command).
func globalFlagIn(app *cli.App, err error) string {
	_, name, ok := strings.Cut(err.Error(), "flag provided but not defined: ")
	if !ok {
		return ""
	}
	name = strings.TrimLeft(name, "-")
	for _, f := range app.Flags {
		for _, n := range f.Names() {
			if n == name {
				return f.Names()[0]
			}
		}
	}
	return ""
}

// setUsageError gives every command (and subcommand) the one-line usage
// error.
func setUsageError(cmds []*cli.Command) {
	for _, cmd := range cmds {
		if cmd.OnUsageError == nil {
			cmd.OnUsageError = usageError
		}
		// "ps -aq", "run -it": short flags combine, as in Docker.
		cmd.UseShortOptionHandling = true
		// A group's arguments are its subcommand's: that one checks them.
		if cmd.Before == nil && !takesCommand[cmd.Name] && len(cmd.Subcommands) == 0 {
			cmd.Before = flagsFirst
		}
		setUsageError(cmd.Subcommands)
	}
}

// commandName is the command args (os.Args[1:]) name, past the global
// flags: "run", or "container run" as "run".
func commandName(args []string) string {
	if i := prespawn.CommandIndex(args); i >= 0 {
		return args[i]
	}
	return ""
}

// commandsFor is what a start with args needs of all, the CLI's commands:
// the command args name, alone, or all of them for help, completion, the man
// page, a group's command line and a name none has. urfave/cli prepares
// every command it is given at each start (names, help, flag categories).
func commandsFor(all []*cli.Command, args []string) []*cli.Command {
	name := commandName(args)
	switch {
	case name == "", name == "help", name == "h", name == completionCommand.Name, name == "man",
		slices.Contains(args, imageCommand.Name), slices.Contains(args, containerCommand.Name):
		return all
	}
	for _, c := range all {
		if c.HasName(name) {
			return []*cli.Command{c}
		}
	}
	return all
}

// startsProcess names the commands that start a process in a container.
func startsProcess(name string) bool {
	switch name {
	case "run", "start", "restart", "exec":
		return true
	}
	return false
}

// globalFlags go before the command.
var globalFlags = []cli.Flag{
	// Package prespawn reads the store from the command line as this flag does.
	&cli.StringFlag{Name: "root", Value: prespawn.DefaultRoot, EnvVars: []string{prespawn.RootEnv}, Usage: "the store `DIR`"},
	&cli.StringFlag{Name: "driver", EnvVars: []string{"LAYERCTL_DRIVER"}, Usage: "union driver: overlay, aufs or vfs (default: overlay, else aufs, else vfs; fixed when the store is created)"},
	&cli.StringFlag{Name: "log-level", Value: "warn", EnvVars: []string{"LAYERCTL_LOG"}, Usage: "debug, info, warn or error (logs go to stderr)"},
}

// takesCommand names the commands whose arguments end with a command line
// of the container's own, flags included.
var takesCommand = map[string]bool{"run": true, "create": true, "exec": true, "top": true}

// flagsFirst refuses a flag after the arguments ("rm c1 -f"): the parser
// stops at the first argument, so the flag would be taken for a name and
// the command half done.
func flagsFirst(c *cli.Context) error {
	for _, a := range c.Args().Slice() {
		if len(a) > 1 && a[0] == '-' {
			return fmt.Errorf("%s: flag %s after the arguments: flags go first", c.Command.Name, a)
		}
	}
	return nil
}

func setupLogging(c *cli.Context) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.String("log-level"))); err != nil {
		return fmt.Errorf("--log-level %q: want debug, info, warn or error", c.String("log-level"))
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
	if e := entrypoint.At(); e.ImagePages > 0 {
		slog.Debug("the entry point mapped the binary", "data", e.Data, "image", e.Image,
			"image_pages", e.ImagePages, "cached_pages", e.CachedPages)
	}
	return nil
}
