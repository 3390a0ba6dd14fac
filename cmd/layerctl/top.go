package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
)

var renameCommand = &cli.Command{
	Name:      "rename",
	Usage:     "give a container another name",
	ArgsUsage: "CONTAINER NEW_NAME",
	Action: func(c *cli.Context) error {
		if c.NArg() != 2 {
			return fmt.Errorf("rename: want CONTAINER NEW_NAME")
		}
		s, err := openStores(c)
		if err != nil {
			return err
		}
		defer s.Close()
		if _, err := s.Rename(c.Args().Get(0), c.Args().Get(1)); err != nil {
			return fmt.Errorf("rename: %w", err)
		}
		return nil
	},
}

var topCommand = &cli.Command{
	Name:      "top",
	Usage:     "list a running container's processes: the host's ps (default -ef), its rows only",
	ArgsUsage: "CONTAINER [PS OPTIONS]",
	// "top c aux": the arguments after the container are ps's.
	SkipFlagParsing: true,
	Action: func(c *cli.Context) error {
		args := c.Args().Slice()
		if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
			return cli.ShowSubcommandHelp(c)
		}
		if len(args) > 0 && strings.HasPrefix(args[0], "-") { // top has no flags of its own
			return fmt.Errorf("top: flag provided but not defined: -%s", strings.TrimLeft(args[0], "-"))
		}
		if len(args) == 0 {
			return fmt.Errorf("top: want CONTAINER [PS OPTIONS]")
		}
		s, err := openStores(c)
		if err != nil {
			return err
		}
		defer s.Close()
		pids, err := s.Processes(args[0])
		if err != nil {
			return fmt.Errorf("top: %w", err)
		}
		psArgs := args[1:]
		if len(psArgs) == 0 {
			psArgs = []string{"-ef"}
		}
		out, err := exec.Command("ps", psArgs...).Output()
		var ee *exec.ExitError
		switch {
		case errors.Is(err, exec.ErrNotFound):
			return fmt.Errorf("top: ps is not on this host (Debian package procps)")
		case errors.As(err, &ee):
			why, _, _ := strings.Cut(strings.TrimSpace(string(ee.Stderr)), "\n")
			return fmt.Errorf("top: ps %s: %s", strings.Join(psArgs, " "), why)
		case err != nil:
			return fmt.Errorf("top: %w", err)
		}
		rows, err := psRowsOf(out, pids)
		if err != nil {
			return fmt.Errorf("top: ps %s: %w", strings.Join(psArgs, " "), err)
		}
		os.Stdout.Write(rows)
		return nil
	},
}

// psRowsOf keeps ps's header and the rows whose PID column is one of pids.
func psRowsOf(out []byte, pids []int) ([]byte, error) {
	lines := bytes.Split(bytes.TrimRight(out, "\n"), []byte("\n"))
	col := slices.IndexFunc(strings.Fields(string(lines[0])), func(f string) bool { return f == "PID" })
	if col < 0 {
		return nil, errors.New("its output has no PID column")
	}
	var b bytes.Buffer
	b.Write(lines[0])
	b.WriteByte('\n')
	for _, l := range lines[1:] {
		f := strings.Fields(string(l))
		if col >= len(f) {
			continue
		}
		if pid, err := strconv.Atoi(f[col]); err == nil && slices.Contains(pids, pid) {
			b.Write(l)
			b.WriteByte('\n')
		}
	}
	return b.Bytes(), nil
}
