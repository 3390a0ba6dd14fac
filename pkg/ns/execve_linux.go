package ns

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// execProcess is the end of the init step, run as root inside the
// container's root: who, where, with what capabilities and fds, then
// execve. It returns only on failure.
func execProcess(cfg *config) error {
	if err := setRlimits(cfg.Rlimits); err != nil {
		return err
	}
	u, err := lookupUser(cfg.User, cfg.GroupAdd)
	if err != nil {
		return &StartError{Code: CodeSetup, Msg: err.Error()}
	}
	// As root with every capability: the pty is chowned to the user.
	if cfg.TTY {
		if err := setupConsole(u.UID); err != nil {
			return err
		}
	}
	var uts unix.Utsname
	_ = unix.Uname(&uts)
	env := processEnv(cfg.Env, u.Home, unix.ByteSliceToString(uts.Nodename[:]), cfg.TTY)

	if cfg.Mode == modeRun && cfg.WorkingDir != "" {
		if err := makeWorkingDir(cfg.WorkingDir, u); err != nil {
			return err
		}
	}
	if cfg.NoNewPrivileges {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("prctl PR_SET_NO_NEW_PRIVS: %w", err)
		}
	}
	// Without no_new_privs, installing the filter takes CAP_SYS_ADMIN, which
	// goes with the capabilities below; with it, the filter goes on last,
	// so that it sees as few of this step's own calls as it can (as runc).
	if !cfg.NoNewPrivileges {
		if err := installSeccomp(cfg.Seccomp); err != nil {
			return err
		}
	}
	if !cfg.Privileged {
		if err := limitBounding(cfg.Caps); err != nil {
			return err
		}
	}
	if err := switchUser(u); err != nil {
		return err
	}
	// A switch to another user cleared the process's capabilities, as
	// for any process; root keeps cfg.Caps.
	if !cfg.Privileged && u.UID == 0 {
		if err := setCaps(cfg.Caps); err != nil {
			return err
		}
	}
	if err := enterWorkingDir(cfg.WorkingDir); err != nil {
		return err
	}
	pathEnv, _ := envValue(env, "PATH")
	exe, serr := lookPath(cfg.Args[0], pathEnv)
	if serr != nil {
		return serr
	}
	unix.Umask(0o022)
	// The container inherits 0, 1 and 2 only: every other fd, whoever
	// opened it (the Go runtime, a leaked host fd), closes at execve.
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return fmt.Errorf("close_range: %w", err)
	}
	awaitGo() // the sync socket closes at the execve
	if cfg.NoNewPrivileges {
		if err := installSeccomp(cfg.Seccomp); err != nil {
			return err
		}
	}
	if cfg.Init {
		return execReaper(exe, cfg.Args, env)
	}
	err = unix.Exec(exe, cfg.Args, env)
	return startErrorFor(cfg.Args[0], err)
}

// processEnv completes env the way Docker does: PATH, HOSTNAME and HOME
// when unset, and TERM for a tty.
func processEnv(env []string, home, hostname string, tty bool) []string {
	out := append([]string(nil), env...)
	add := func(k, v string) {
		if _, ok := envValue(out, k); !ok && v != "" {
			out = append(out, k+"="+v)
		}
	}
	add("PATH", DefaultPath)
	add("HOSTNAME", hostname)
	add("HOME", home)
	if tty {
		add("TERM", "xterm")
	}
	return out
}

// switchUser sets groups, gid and uid on this thread only: the thread execs,
// which ends the others.
func switchUser(u *execUser) error {
	if err := unix.Setgroups(u.Groups); err != nil {
		return fmt.Errorf("setgroups %v: %w", u.Groups, err)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(u.GID), uintptr(u.GID), uintptr(u.GID)); e != 0 {
		return fmt.Errorf("setgid %d: %w", u.GID, e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(u.UID), uintptr(u.UID), uintptr(u.UID)); e != 0 {
		return fmt.Errorf("setuid %d: %w", u.UID, e)
	}
	return nil
}

// makeWorkingDir creates a missing working directory of a run, owned by the
// user, as Docker does. The root is the container's by now, so the path and
// any symlink on it resolve inside the container.
func makeWorkingDir(dir string, u *execUser) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	var missing []string
	for d := dir; d != "/"; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil {
			break
		}
		missing = append(missing, d)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := os.Mkdir(missing[i], 0o755); err != nil && !os.IsExist(err) {
			return &StartError{Code: CodeSetup, Msg: fmt.Sprintf("working directory %q: %v", dir, err)}
		}
		if err := os.Lchown(missing[i], u.UID, u.GID); err != nil {
			return &StartError{Code: CodeSetup, Msg: fmt.Sprintf("working directory %q: %v", dir, err)}
		}
	}
	return nil
}

// enterWorkingDir changes to dir (as the user, so permissions apply) and
// checks that the result is inside the root: a directory reached through
// an fd or path outside it shows as unreachable (runc CVE-2024-21626).
func enterWorkingDir(dir string) error {
	if dir == "" {
		dir = "/"
	}
	if err := unix.Chdir(dir); err != nil {
		return &StartError{Code: CodeSetup, Msg: fmt.Sprintf("working directory %q: %v", dir, err)}
	}
	cwd, err := unix.Getwd()
	if err != nil || !strings.HasPrefix(cwd, "/") {
		return &StartError{Code: CodeSetup, Msg: fmt.Sprintf("working directory %q is outside the container (%q, %v)", dir, cwd, err)}
	}
	return nil
}

// lookupUser resolves spec through the container's /etc/passwd and
// /etc/group (the root is the container's by now).
func lookupUser(spec string, groupAdd []string) (*execUser, error) {
	passwd, err := openEtc("/etc/passwd")
	if err != nil {
		return nil, err
	}
	defer passwd.Close()
	group, err := openEtc("/etc/group")
	if err != nil {
		return nil, err
	}
	defer group.Close()
	u, err := resolveUser(spec, passwd.reader(), group.reader())
	if err != nil || len(groupAdd) == 0 {
		return u, err
	}
	if group.f != nil {
		if _, err := group.f.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
	}
	return u, u.addGroups(groupAdd, group.reader())
}

type etcFile struct{ f *os.File }

func (e etcFile) reader() io.Reader {
	if e.f == nil {
		return nil
	}
	return io.LimitReader(e.f, 32<<20)
}

func (e etcFile) Close() {
	if e.f != nil {
		e.f.Close()
	}
}

// openEtc opens a file of the image that must be a regular file: a FIFO
// would block the init step, a device could be anything.
func openEtc(name string) (etcFile, error) {
	how := unix.OpenHow{Flags: unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NONBLOCK | unix.O_NOCTTY,
		Resolve: unix.RESOLVE_NO_MAGICLINKS}
	fd, err := unix.Openat2(unix.AT_FDCWD, name, &how)
	if errors.Is(err, unix.ENOENT) {
		return etcFile{}, nil
	}
	if err != nil {
		return etcFile{}, fmt.Errorf("open %s: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), name)
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return etcFile{}, fmt.Errorf("open %s: not a regular file", name)
	}
	return etcFile{f}, nil
}
