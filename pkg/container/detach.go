package container

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// A detached container is watched by a monitor: a process of the program's
// own binary in a session of its own, which starts the container, waits
// for its process and records how it ended. It tells StartDetached how the
// start went with one line on an inherited pipe (fd 3): "ok", "start CODE
// REASON" when the container's process could not start, or "fail CODE
// REASON" when the monitor itself could not get that far.

// monitorFD is the monitor's end of the report pipe.
const monitorFD = 3

// MonitorError is a detached start that failed before the monitor could
// start the container: Code is the exit code a command line should give.
type MonitorError struct {
	Code int
	Err  error
}

func (e *MonitorError) Error() string { return e.Err.Error() }
func (e *MonitorError) Unwrap() error { return e.Err }

// StartDetached starts a container under a monitor and returns once its
// process has started (or failed to: a *StartError with the monitor's
// reason, or a *MonitorError). The monitor is /proc/self/exe run with argv
// (argv[0] included), which must lead that process to ServeMonitor for
// this store and the container. Its output, and the container's, go to
// the container's log (LogPath). A container whose RunConfig asks for
// Remove is removed when it does not start.
func (c *Store) StartDetached(ref string, argv []string) (err error) {
	s, err := c.Resolve(ref)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil && s.Run != nil && s.Run.Remove {
			c.Remove(s.ID, true)
		}
	}()
	logPath := c.LogPath(s.ID)
	log, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return &MonitorError{Code: CodeSetup, Err: err}
	}
	defer log.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		return &MonitorError{Code: CodeSetup, Err: err}
	}
	defer pr.Close()
	cmd := &exec.Cmd{
		Path: "/proc/self/exe", Args: argv,
		Stdout: log, Stderr: log, ExtraFiles: []*os.File{pw}, // fd 3: monitorFD
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	err = cmd.Start()
	pw.Close()
	if err != nil {
		return fmt.Errorf("start monitor: %w", err)
	}
	cmd.Process.Release()
	buf := make([]byte, 4096)
	n, _ := pr.Read(buf)
	return monitorReport(strings.TrimSpace(string(buf[:n])), logPath)
}

// monitorReport reads the monitor's line (see StartDetached).
func monitorReport(msg, logPath string) error {
	if msg == "ok" {
		return nil
	}
	kind, rest, _ := strings.Cut(msg, " ")
	code, reason, _ := strings.Cut(rest, " ")
	n, _ := strconv.Atoi(code)
	switch {
	case n == 0:
	case kind == "start":
		return &StartError{Code: n, Msg: reason}
	case kind == "fail":
		return &MonitorError{Code: n, Err: errors.New(reason)}
	}
	return &MonitorError{Code: CodeSetup, Err: errors.New("the monitor ended before the container started; see " + logPath)}
}

// ServeMonitor is the monitor's side of StartDetached, for the process it
// starts: it opens the store at root, starts the container id with this
// process's stdout and stderr (the container's log), reports on fd 3 how
// that went, and then waits for the container's process and records how it
// ended. It returns the error of the start or of the wait.
func ServeMonitor(root, id string, opts ...Option) error {
	report := os.NewFile(monitorFD, "monitor report")
	s, err := Open(root, opts...)
	if err != nil {
		fmt.Fprintf(report, "fail %d %s\n", CodeSetup, err)
		return err
	}
	// stdout is the log: the process's streams go into it as entries.
	r, err := s.Start(id, logStdio(os.Stdout))
	if err != nil {
		code := CodeSetup
		var se *StartError
		if errors.As(err, &se) {
			code = se.ExitCode()
		}
		fmt.Fprintf(report, "start %d %s\n", code, err)
		return err
	}
	fmt.Fprintln(report, "ok")
	report.Close()
	s.Close()
	_, err = r.Wait()
	return err
}

// Run starts a container's process, waits for it to end and returns its
// exit code (128+signal when it was killed), for a program that runs a
// step without a terminal (a build's RUN). Cancelling ctx kills the
// process; Run then returns ctx's error with the code. A process that
// could not start is a *StartError. Unlike Start, Run holds the store
// open until the process ends.
func (c *Store) Run(ctx context.Context, ref string, stdio Stdio) (int, error) {
	r, err := c.Start(ref, stdio)
	if err != nil {
		return 0, err
	}
	stop := context.AfterFunc(ctx, func() { r.proc.Signal(os.Kill) })
	code, err := r.Wait()
	if !stop() && err == nil {
		err = ctx.Err()
	}
	return code, err
}
