package layer

import (
	"bufio"
	"errors"
	"os"
	"strconv"
	"strings"

	"github.com/vbatts/tar-split/archive/tar"
	"golang.org/x/sys/unix"
)

// A file the applier creates is owned by the process's fsuid and fsgid
// (the parent's group when the parent is setgid), with the mode it asked
// for less the umask. When that already is what the header says, the chown
// and chmod after creation change nothing: skipping them saves two of the
// six syscalls a small file costs.

const aclDefault = "system.posix_acl_default"

// processUmask reads the umask without setting it: umask(2) cannot read it
// without a window in which another thread would create files with another.
func processUmask() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Umask:"); ok {
			m, err := strconv.ParseInt(strings.TrimSpace(v), 8, 32)
			if err != nil {
				return -1
			}
			return m
		}
	}
	return -1
}

// createOwner is who creates the layer's files, and whether their creation
// mode is exact: a default ACL on the layer root (inherited from where the
// store lives) would change the modes of what is made below it.
type createOwner struct {
	exact    bool
	uid, gid int
	umask    int64
	// parentSGID caches whether the open parent (lastParentFD) is setgid:
	// 0 unknown, 1 no, 2 yes.
	parentSGID int8
}

func newCreateOwner(root int) createOwner {
	o := createOwner{uid: unix.Geteuid(), gid: unix.Getegid(), umask: processUmask()}
	_, err := unix.Fgetxattr(root, aclDefault, nil)
	o.exact = o.umask >= 0 && (errors.Is(err, unix.ENODATA) || errors.Is(err, unix.ENOTSUP))
	return o
}

// asCreated tells whether a file made in parent with mode hdr.Mode&0o777
// already has hdr's owner and mode.
func (a *applier) asCreated(parent int, hdr *tar.Header) bool {
	o := &a.owner
	if !o.exact || hdr.Mode&0o7000 != 0 || hdr.Mode&o.umask != 0 || hdr.Uid != o.uid || hdr.Gid != o.gid {
		return false
	}
	return !a.setgidDir(parent)
}

// ownedAsCreated is asCreated for an entry with no mode of its own (a symlink).
func (a *applier) ownedAsCreated(parent int, hdr *tar.Header) bool {
	o := &a.owner
	return o.exact && hdr.Uid == o.uid && hdr.Gid == o.gid && !a.setgidDir(parent)
}

func (a *applier) setgidDir(fd int) bool {
	cached := fd == a.lastParentFD
	if cached && a.owner.parentSGID != 0 {
		return a.owner.parentSGID == 2
	}
	var st unix.Stat_t
	sgid := unix.Fstat(fd, &st) != nil || st.Mode&unix.S_ISGID != 0 // unknown counts as setgid
	if cached {
		a.owner.parentSGID = 1
		if sgid {
			a.owner.parentSGID = 2
		}
	}
	return sgid
}
