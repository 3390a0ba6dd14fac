//go:build !core

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/build"
	"github.com/layerctl/layerctl/pkg/container"
	"github.com/layerctl/layerctl/pkg/image"
)

// buildAction builds the image, in this process.
func buildAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return fmt.Errorf("build: want one CONTEXT directory")
	}
	o, err := buildOptions(c)
	if err != nil {
		return fmt.Errorf("build: %w", err)
	}
	s, err := openStores(c)
	if err != nil {
		return err
	}
	defer s.Close()
	// Ctrl-C cancels the build, which then removes its container.
	ctx, stop := cancelOnSignal(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	id, err := build.Build(ctx, s, o)
	if sig, ok := context.Cause(ctx).(signalled); ok {
		// As a shell reports a process a signal ended: 128 + the signal.
		return exitError{code: 128 + int(sig.Signal), err: fmt.Errorf("build: interrupted (%s): nothing was tagged", unix.SignalName(sig.Signal))}
	}
	if err != nil {
		return fmt.Errorf("build: %w", err)
	}
	if f := c.String("iidfile"); f != "" {
		if err := os.WriteFile(f, []byte(id.String()), 0o644); err != nil {
			return fmt.Errorf("build: --iidfile: %w", err)
		}
	}
	fmt.Fprintln(os.Stdout, id)
	return nil
}

// buildOptions checks build's flags.
func buildOptions(c *cli.Context) (build.Options, error) {
	o := build.Options{Context: c.Args().First(), Dockerfile: c.String("file"), Target: c.String("target"), NoCache: c.Bool("no-cache"), BuildArgs: map[string]string{}}
	if fi, err := os.Stat(o.Context); err != nil || !fi.IsDir() {
		return o, fmt.Errorf("context %q is not a directory", o.Context)
	}
	if o.Dockerfile == "-" {
		text, err := readDockerfile(os.Stdin)
		if err != nil {
			return o, err
		}
		o.Text = text
	}
	for _, t := range c.StringSlice("tag") {
		n, err := image.ParseName(t)
		if err != nil {
			return o, err
		}
		o.Tags = append(o.Tags, n)
	}
	for _, kv := range c.StringSlice("build-arg") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			v, ok = os.LookupEnv(k) // as docker: --build-arg K takes K from the environment
		}
		if ok {
			o.BuildArgs[k] = v
		}
	}
	switch c.String("network") {
	case "host", "default":
		o.Network = container.NetHost
	case "none":
		o.Network = container.NetNone
	default:
		return o, fmt.Errorf("--network %q: want host or none", c.String("network"))
	}
	if ts := c.String("timestamp"); ts != "" {
		sec, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || sec < 0 {
			return o, fmt.Errorf("--timestamp %q: want seconds since 1970", ts)
		}
		t := time.Unix(sec, 0).UTC()
		o.Epoch = &t
	}
	var err error
	if o.Labels, err = parseLabels(c.StringSlice("label")); err != nil {
		return o, err
	}
	o.Pull = c.Bool("pull")
	quiet := c.Bool("quiet")
	switch p := c.String("progress"); p {
	case "auto", "plain", "tty":
	case "quiet":
		quiet = true
	default:
		return o, fmt.Errorf("--progress %q: want auto, plain, tty or quiet", p)
	}
	if !quiet {
		o.Progress = os.Stderr
	}
	return o, nil
}

// signalled is the cause of a context that cancelOnSignal cancelled.
type signalled struct{ syscall.Signal }

func (s signalled) Error() string { return s.String() + " signal received" }

// cancelOnSignal is signal.NotifyContext that also says which signal came
// (context.Cause is a signalled), for the exit code.
func cancelOnSignal(parent context.Context, sigs ...os.Signal) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, sigs...)
	go func() {
		select {
		case s := <-ch:
			if n, ok := s.(syscall.Signal); ok {
				cancel(signalled{n})
			} else {
				cancel(nil)
			}
		case <-ctx.Done():
		}
	}()
	return ctx, func() { signal.Stop(ch); cancel(nil) }
}

// maxDockerfile bounds a Dockerfile read from standard input, as a file
// would be bounded by its size.
const maxDockerfile = 4 << 20

// readDockerfile reads a Dockerfile from r (-f -).
func readDockerfile(r io.Reader) ([]byte, error) {
	text, err := io.ReadAll(io.LimitReader(r, maxDockerfile+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("read Dockerfile from standard input: %w", err)
	case len(text) > maxDockerfile:
		return nil, fmt.Errorf("Dockerfile on standard input is over %d MiB", maxDockerfile>>20)
	}
	return text, nil
}
