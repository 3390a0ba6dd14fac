package ns

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// execUser is who the process runs as.
type execUser struct {
	UID, GID int
	Groups   []int // supplementary groups
	Home     string
}

type passwdEntry struct {
	name     string
	uid, gid int
	home     string
}

type groupEntry struct {
	name    string
	gid     int
	members []string
}

// resolveUser turns a Docker user spec ("", "uid", "uid:gid", "name",
// "name:group", or any mix) into ids, the way runc's GetExecUser does:
// a name must exist in passwd (group names in group); a number need not;
// without a group the primary gid comes from passwd and the supplementary
// groups are those of /etc/group that list the user; with one, the
// supplementary groups are that group alone. passwd and group may be nil
// (the image has no such file).
func resolveUser(spec string, passwd, group io.Reader) (*execUser, error) {
	userArg, groupArg, _ := strings.Cut(spec, ":")
	u := &execUser{Home: "/"}
	users, err := parsePasswd(passwd)
	if err != nil {
		return nil, err
	}
	uid, uidErr := parseID(userArg)
	var matched *passwdEntry
	for i := range users {
		e := &users[i]
		if (userArg == "" && e.uid == 0) || (uidErr == nil && e.uid == uid) || (userArg != "" && e.name == userArg) {
			matched = e
			break
		}
	}
	switch {
	case matched != nil:
		u.UID, u.GID, u.Home = matched.uid, matched.gid, matched.home
	case userArg == "":
	case uidErr == nil:
		u.UID = uid
	default:
		return nil, fmt.Errorf("unable to find user %s: no matching entries in passwd file", userArg)
	}

	groups, err := parseGroup(group)
	if err != nil {
		return nil, err
	}
	if groupArg != "" {
		gid, gidErr := parseID(groupArg)
		found := false
		for _, g := range groups {
			if g.name == groupArg || (gidErr == nil && g.gid == gid) {
				gid, found = g.gid, true
				break
			}
		}
		if !found && gidErr != nil {
			return nil, fmt.Errorf("unable to find group %s: no matching entries in group file", groupArg)
		}
		u.GID = gid
		u.Groups = []int{gid}
		return u, nil
	}
	if matched != nil {
		for _, g := range groups {
			for _, m := range g.members {
				if m == matched.name {
					u.Groups = append(u.Groups, g.gid)
					break
				}
			}
		}
	}
	return u, nil
}

func parseID(s string) (int, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, err
	}
	if n >= 1<<31 {
		return 0, fmt.Errorf("id %s out of range", s)
	}
	return int(n), nil
}

// eachLine calls f with the colon-separated fields of every non-comment
// line of r.
func eachLine(r io.Reader, f func(fields []string)) error {
	if r == nil {
		return nil
	}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		f(strings.Split(line, ":"))
	}
	return sc.Err()
}

func parsePasswd(r io.Reader) ([]passwdEntry, error) {
	var out []passwdEntry
	err := eachLine(r, func(f []string) {
		if len(f) < 4 {
			return
		}
		uid, err1 := parseID(f[2])
		gid, err2 := parseID(f[3])
		if err1 != nil || err2 != nil {
			return
		}
		e := passwdEntry{name: f[0], uid: uid, gid: gid, home: "/"}
		if len(f) > 5 && f[5] != "" {
			e.home = f[5]
		}
		out = append(out, e)
	})
	if err != nil {
		return nil, fmt.Errorf("read /etc/passwd: %w", err)
	}
	return out, nil
}

func parseGroup(r io.Reader) ([]groupEntry, error) {
	var out []groupEntry
	err := eachLine(r, func(f []string) {
		if len(f) < 3 {
			return
		}
		gid, err := parseID(f[2])
		if err != nil {
			return
		}
		e := groupEntry{name: f[0], gid: gid}
		if len(f) > 3 && f[3] != "" {
			e.members = strings.Split(f[3], ",")
		}
		out = append(out, e)
	})
	if err != nil {
		return nil, fmt.Errorf("read /etc/group: %w", err)
	}
	return out, nil
}
