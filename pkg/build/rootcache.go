package build

import (
	"os"
	"path"
)

// rootCache holds an *os.Root for each directory one copy writes into (or
// reads from). An operation through os.Root resolves every component of
// its path, an open and a close each: through the directory's own root it
// resolves one name. A 5,000-file COPY made 24 opens a file without it.
type rootCache struct {
	base  *os.Root
	roots map[string]*os.Root
}

func newRootCache(base *os.Root) *rootCache {
	return &rootCache{base: base, roots: map[string]*os.Root{}}
}

// at returns the root of rel's directory and rel's name in it.
func (c *rootCache) at(rel string) (*os.Root, string, error) {
	dir, name := path.Split(rel)
	dir = path.Clean(dir)
	if dir == "." || dir == "/" {
		return c.base, name, nil
	}
	if r, ok := c.roots[dir]; ok {
		return r, name, nil
	}
	r, err := c.base.OpenRoot(dir)
	if err != nil {
		return nil, "", err
	}
	c.roots[dir] = r
	return r, name, nil
}

func (c *rootCache) close() {
	for _, r := range c.roots {
		r.Close()
	}
}
