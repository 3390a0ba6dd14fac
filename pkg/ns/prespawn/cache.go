package prespawn

import (
	"errors"
	"syscall"
	"unsafe"
)

// A store keeps a copy of the init program, which init steps run through a
// read-only overlayfs mount attached nowhere (SealedOverlay) instead of
// from a sealed memfd copy made at every start: a mount in place of 2 MB
// copied into fresh memory, about 1 ms of a run's start here. Both views
// hold up the same promise: nothing in a container can change the program
// it sees as /proc/PID/exe.
//
//	ROOT/bin/SHA256/layerctl-init  the program (SHA256: its digest), 0555
//	ROOT/bin/empty/                 the second lower layer overlayfs wants
//
// pkg/ns writes the copy through the store's tmp/ (SaveProgram); this
// package only reads it, as early as the process starts.
const (
	cacheDirName = "bin"
	emptyDirName = "empty"
)

// The store a command line names: its --root flag, else LAYERCTL_ROOT, else
// DefaultRoot, as cmd/layerctl's flag reads them.
const (
	DefaultRoot = "/var/lib/layerctl"
	RootEnv     = "LAYERCTL_ROOT"
)

// Flags and numbers of the new mount API (fsopen(2), fsconfig(2),
// fsmount(2); Linux 5.2), which package syscall lacks.
const (
	fsopenCloexec     = 0x1
	fsconfigSetString = 1
	fsconfigCmdCreate = 6
	fsmountCloexec    = 0x1
	mountAttrRdonly   = 0x1
	mountAttrNosuid   = 0x2
	mountAttrNodev    = 0x4
	oPath             = 0x200000 // O_PATH on amd64 and arm64
)

// CacheDir is where the store at root keeps its copies of init programs.
func CacheDir(root string) string { return root + "/" + cacheDirName }

// ProgramEntry is the directory in cacheDir that holds this binary's init
// program, named by its digest; "" when the binary embeds none.
func ProgramEntry(cacheDir string) string {
	d := ProgramDigest()
	if d == "" {
		return ""
	}
	return cacheDir + "/" + d
}

// EmptyDir is cacheDir's empty directory, the overlay's second layer.
func EmptyDir(cacheDir string) string { return cacheDir + "/" + emptyDirName }

// ProgramDigest is the hex sha256 of Program; "" without one.
func ProgramDigest() string {
	d := programDigest
	for len(d) > 0 && (d[len(d)-1] == '\n' || d[len(d)-1] == ' ') {
		d = d[:len(d)-1]
	}
	if len(Program) == 0 || !IsDigest(d) {
		return ""
	}
	return d
}

// IsDigest tells a hex sha256 (lower case), as the cache's entries are named.
func IsDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// ReadRoot is the store a command line (without the program's name) names,
// made absolute against the working directory as the store does.
func ReadRoot(args []string) string {
	root, set := "", false
	end := CommandIndex(args)
	if end < 0 {
		end = len(args)
	}
	for i := 0; i < end; i++ {
		name, value, hasValue := cut(trimDashes(args[i]), '=')
		if name != "root" || len(args[i]) < 2 || args[i][0] != '-' {
			continue
		}
		if !hasValue {
			if i+1 >= end {
				break
			}
			i++
			value = args[i]
		}
		root, set = value, true // the last one counts
	}
	if !set {
		if v, ok := syscall.Getenv(RootEnv); ok {
			root, set = v, true
		}
	}
	if !set {
		root = DefaultRoot
	}
	if len(root) > 0 && root[0] == '/' {
		return root
	}
	wd, err := syscall.Getwd()
	if err != nil {
		return ""
	}
	if root == "" {
		return wd
	}
	return wd + "/" + root
}

// cachedProgram opens the store's copy of Program in cacheDir through a
// sealed overlay: an O_PATH fd at 100 or above, close-on-exec.
func cachedProgram(cacheDir string) (int, error) {
	entry := ProgramEntry(cacheDir)
	if entry == "" || cacheDir == "" {
		return -1, errors.New("no program to look for")
	}
	// Looked for first: overlayfs logs each lower layer it cannot find.
	var st syscall.Stat_t
	if err := syscall.Stat(entry+"/"+Arg0, &st); err != nil {
		return -1, err
	}
	fd, err := SealedOverlay(entry, EmptyDir(cacheDir), Arg0)
	if err != nil {
		return -1, err
	}
	if err := syscall.Fstat(fd, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFREG ||
		st.Size != int64(len(Program)) {
		syscall.Close(fd)
		return -1, errors.New("the store's copy of the init program is not a file of its size")
	}
	return fd, nil
}

// SealedOverlay opens name in dir through an overlayfs mount of dir and
// empty (overlayfs mounts without an upper layer only with two lower ones)
// made read-only and attached nowhere: the file runs and reads, but a
// write, chmod, chown or xattr through it fails with EROFS, and nothing
// leads from it back to the file on disk (the overlay has a device of its
// own; runc 1.2's exeseal). It costs a mount instead of a copy. It needs
// CAP_SYS_ADMIN and the new mount API. The fd is O_PATH, close-on-exec, at
// 100 or above.
func SealedOverlay(dir, empty, name string) (int, error) {
	if sysFsopen < 0 {
		return -1, syscall.ENOSYS
	}
	ctx, err := rawOpenAt(sysFsopen, -1, "overlay", fsopenCloexec)
	if err != nil {
		return -1, wrapOverlay("fsopen", err)
	}
	defer syscall.Close(ctx)
	if err := fsconfigString(ctx, "lowerdir", escapeLowerDir(dir)+":"+escapeLowerDir(empty)); err != nil {
		return -1, wrapOverlay("lowerdir "+dir, err)
	}
	// Not needed, and it would only log about layers on other filesystems.
	_ = fsconfigString(ctx, "xino", "off")
	if _, _, e := syscall.Syscall6(uintptr(sysFsconfig), uintptr(ctx), fsconfigCmdCreate, 0, 0, 0, 0); e != 0 {
		return -1, wrapOverlay("create", e)
	}
	mnt, _, e := syscall.Syscall(uintptr(sysFsmount), uintptr(ctx), fsmountCloexec, mountAttrRdonly|mountAttrNosuid|mountAttrNodev)
	if e != 0 {
		return -1, wrapOverlay("fsmount", e)
	}
	defer syscall.Close(int(mnt))
	fd, err := rawOpenAt(syscall.SYS_OPENAT, int(mnt), name, oPath|syscall.O_NOFOLLOW|syscall.O_CLOEXEC)
	if err != nil {
		return -1, wrapOverlay("open "+name, err)
	}
	return MoveHigh(fd)
}

// rawOpenAt calls trap (openat, or fsopen without a dirfd: -1) with a path.
func rawOpenAt(trap, dirfd int, path string, flags uintptr) (int, error) {
	p, err := syscall.BytePtrFromString(path)
	if err != nil {
		return -1, err
	}
	var r uintptr
	var e syscall.Errno
	if dirfd < 0 {
		r, _, e = syscall.Syscall(uintptr(trap), uintptr(unsafe.Pointer(p)), flags, 0)
	} else {
		r, _, e = syscall.Syscall6(uintptr(trap), uintptr(dirfd), uintptr(unsafe.Pointer(p)), flags, 0, 0, 0)
	}
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

func fsconfigString(ctx int, key, value string) error {
	k, err := syscall.BytePtrFromString(key)
	if err != nil {
		return err
	}
	v, err := syscall.BytePtrFromString(value)
	if err != nil {
		return err
	}
	_, _, e := syscall.Syscall6(uintptr(sysFsconfig), uintptr(ctx), fsconfigSetString,
		uintptr(unsafe.Pointer(k)), uintptr(unsafe.Pointer(v)), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// escapeLowerDir escapes the separators of overlayfs's lowerdir option.
func escapeLowerDir(p string) string {
	out := make([]byte, 0, len(p))
	for i := 0; i < len(p); i++ {
		if p[i] == '\\' || p[i] == ':' {
			out = append(out, '\\')
		}
		out = append(out, p[i])
	}
	return string(out)
}

func wrapOverlay(step string, err error) error {
	return &sealError{"sealed overlay", step, err}
}
