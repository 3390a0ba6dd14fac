package ns

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/moby/sys/user"
)

// execUser is who the process runs as.
type execUser struct {
	UID, GID int
	Groups   []int // supplementary groups
	Home     string
}

// resolveUser turns a Docker user spec ("", "uid", "uid:gid", "name",
// "name:group", or any mix) into ids, the way runc's GetExecUser does:
// a name must exist in passwd (group names in group); a number need not;
// without a group the primary gid comes from passwd and the supplementary
// groups are those of /etc/group that list the user; with one, the
// supplementary groups are that group alone. passwd and group may be nil
// (the image has no such file).
func resolveUser(spec string, passwd, group io.Reader) (*execUser, error) {
	_, groupArg, _ := strings.Cut(spec, ":")
	u, err := user.GetExecUser(spec, &user.ExecUser{Home: "/"}, passwd, group)
	if errors.Is(err, user.ErrRange) {
		// Say which id, in the words of a name that is not found.
		return nil, fmt.Errorf("unable to find user %s: %w", spec, err)
	}
	if err != nil {
		return nil, err
	}
	groups := u.Sgids
	if groupArg != "" {
		// Docker's rule (and ours before the library): an explicit group is
		// the supplementary group list too.
		groups = []int{u.Gid}
	}
	if len(groups) == 0 {
		groups = nil
	}
	return &execUser{UID: u.Uid, GID: u.Gid, Groups: groups, Home: u.Home}, nil
}

// addGroups adds docker run --group-add's groups (names of the image's
// /etc/group, or numbers) to the supplementary groups.
func (u *execUser) addGroups(names []string, group io.Reader) error {
	if len(names) == 0 {
		return nil
	}
	gids, err := user.GetAdditionalGroups(names, group)
	if err != nil {
		return fmt.Errorf("--group-add: %w", err)
	}
	for _, g := range gids {
		if !slices.Contains(u.Groups, g) {
			u.Groups = append(u.Groups, g)
		}
	}
	return nil
}
