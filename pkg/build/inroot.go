package build

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
)

// resolveDest is a COPY destination in root as the container sees it: its
// directories' symlinks followed (inRoot), and the destination's own when
// it leads to a directory, which the COPY then writes into; one leading to
// a file is replaced, as a container's write replaces it.
func resolveDest(root *os.Root, rel string) (string, error) {
	if rel == "." {
		return rel, nil
	}
	parent, err := inRoot(root, path.Dir(rel))
	if err != nil {
		return "", err
	}
	at := path.Join(parent, path.Base(rel))
	full, err := inRoot(root, at)
	if err != nil {
		return "", err
	}
	if fi, err := root.Stat(full); err == nil && fi.IsDir() {
		return full, nil
	}
	return at, nil
}

// maxLinks is how many symlinks one path may go through, as Linux's
// MAXSYMLINKS (40) allows, with room for images that chain more.
const maxLinks = 255

// inRoot resolves the symlinks of rel (relative, cleaned) as a process in
// the container sees them: an absolute target from root, ".." never above
// it. This is what a COPY destination means in Docker; os.Root alone
// refuses every absolute or escaping symlink. A missing component ends the
// resolution: the rest is made as named. Only this build writes root, so
// nothing changes it between this walk and the writes.
func inRoot(root *os.Root, rel string) (string, error) {
	var done []string
	todo := strings.Split(rel, "/")
	links, missing := 0, false
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(done) > 0 {
				done = done[:len(done)-1]
			}
			continue
		}
		if missing {
			done = append(done, c)
			continue
		}
		p := path.Join(append(done, c)...)
		fi, err := root.Lstat(p)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			done = append(done, c)
			missing = err != nil
			continue
		}
		if links++; links > maxLinks {
			return "", fmt.Errorf("/%s: too many levels of symbolic links", rel)
		}
		target, err := root.Readlink(p)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(target, "/") {
			done = nil
		}
		todo = append(strings.Split(target, "/"), todo...)
	}
	if len(done) == 0 {
		return ".", nil
	}
	return path.Join(done...), nil
}
